// Progressive enhancement of the confirmations before a legal act (templates/confirm.html).
// A link marked data-confirm-dialog leads to the confirmation page; with JavaScript the same
// page's [data-confirm] section opens in a <dialog> instead. Without JavaScript the link is
// followed and the page asks. The form inside posts as on the page: nothing acts on a click.
(function () {
  "use strict";
  if (typeof HTMLDialogElement !== "function" || !window.fetch || !window.DOMParser) { return; }
  document.querySelectorAll("a[data-confirm-dialog]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      fetch(link.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.text();
        })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var section = page.querySelector("[data-confirm]");
          if (!section) { throw new Error("no confirmation"); }
          var dialog = document.createElement("dialog");
          dialog.className = "confirm-dialog";
          dialog.setAttribute("aria-labelledby", "confirm-h");
          dialog.appendChild(document.importNode(section, true));
          dialog.querySelectorAll("[data-confirm-close]").forEach(function (close) {
            close.addEventListener("click", function (closing) {
              closing.preventDefault();
              dialog.close();
            });
          });
          dialog.addEventListener("close", function () { dialog.remove(); link.focus(); });
          document.body.appendChild(dialog);
          dialog.showModal();
        })
        .catch(function () { window.location.href = link.href; });
    });
  });
})();
