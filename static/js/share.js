// Sharing a certificate (templates/certificates/_share.html): progressive enhancement only.
(function () {
  "use strict";
  var status = document.querySelector(".share [role=status]");
  function say(key) { if (status) { status.textContent = status.getAttribute(key) || ""; } }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(
        function () { say("data-copied"); },
        function () { field.select(); say("data-copy-failed"); }
      );
    });
  });

  document.querySelectorAll("[data-share-url]").forEach(function (button) {
    if (!navigator.share) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.share({
        title: button.getAttribute("data-share-title"),
        url: button.getAttribute("data-share-url")
      }).catch(function () { /* the person closed the sheet */ });
    });
  });
}());
