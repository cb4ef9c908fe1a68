// The evidence upload form (templates/portfolio/evidence_form.html): progressive enhancement.
// Before anything is sent, each chosen file is checked against the size limit and the accepted
// kinds (the server checks the content again); then the form is sent with XHR and each file
// gets a <progress> (the files travel one after the other in the one request, so each bar is
// its share of the bytes sent). The server keeps all the files or none. Without JavaScript
// the form is posted as usual.
(function () {
  "use strict";
  var KINDS = /\.(pdf|jpe?g|png|webp|docx|xlsx|pptx|odt|ods|odp)$/i;

  function setUp(form) {
    var input = form.querySelector("input[type=file][data-max-bytes]");
    var status = form.querySelector("[data-upload-status]");
    var list = form.querySelector("[data-upload-list]");
    if (!input || !status || !list || !window.FormData || !window.XMLHttpRequest) { return; }
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
    var bars = [];

    function say(key, name) {
      status.textContent = (status.getAttribute(key) || "").replace("{name}", name || "");
      status.setAttribute("role", key === "data-sending" ? "status" : "alert");
    }

    function problem() {
      var files = Array.prototype.slice.call(input.files || []);
      if (files.length > maxFiles) { return ["data-too-many", ""]; }
      for (var i = 0; i < files.length; i += 1) {
        if (files[i].size > maxBytes) { return ["data-too-large", files[i].name]; }
        if (!KINDS.test(files[i].name)) { return ["data-wrong-type", files[i].name]; }
      }
      return null;
    }

    function showFiles() {
      list.textContent = "";
      bars = [];
      Array.prototype.slice.call(input.files || []).forEach(function (file) {
        var item = document.createElement("li");
        var label = document.createElement("span");
        var bar = document.createElement("progress");
        label.textContent = file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " kB)";
        bar.max = file.size || 1;
        bar.value = 0;
        bar.setAttribute("aria-label", file.name);
        item.appendChild(label);
        item.appendChild(bar);
        list.appendChild(item);
        bars.push({ bar: bar, size: file.size });
      });
      var found = problem();
      if (found) { say(found[0], found[1]); } else { status.textContent = ""; }
    }

    function progress(sent) {
      var before = 0;
      bars.forEach(function (entry) {
        entry.bar.value = Math.max(0, Math.min(entry.size, sent - before));
        before += entry.size;
      });
    }

    function showPage(xhr) {
      // A refusal (422, 413, 503) comes back as the form's page with its messages: show its
      // main content in place of ours, and set it up again.
      var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var fresh = page.querySelector("main");
      var main = document.querySelector("main");
      if (!fresh || !main) { say("data-failed"); return; }
      main.innerHTML = fresh.innerHTML;
      main.querySelectorAll("form[data-upload]").forEach(setUp);
      var alert = main.querySelector(".errors, [role=alert]");
      if (alert && alert.scrollIntoView) { alert.scrollIntoView(); }
    }

    input.addEventListener("change", showFiles);
    form.addEventListener("submit", function (event) {
      var found = problem();
      if (found) {
        event.preventDefault();
        say(found[0], found[1]);
        input.focus();
        return;
      }
      if (!input.files || input.files.length === 0) { return; }  // the server says what is missing
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      say("data-sending");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        // The bytes sent include the other fields and the multipart framing: near enough.
        if (e.lengthComputable) { progress(e.loaded); }
      });
      xhr.addEventListener("load", function () {
        if (button) { button.disabled = false; }
        if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL &&
            xhr.responseURL !== (form.action || window.location.href)) {
          progress(Infinity);
          window.location.assign(xhr.responseURL);  // the redirect's target: the evidence
        } else {
          showPage(xhr);
        }
      });
      xhr.addEventListener("error", function () {
        if (button) { button.disabled = false; }
        say("data-failed");
      });
      xhr.addEventListener("abort", function () {
        if (button) { button.disabled = false; }
        say("data-failed");
      });
      xhr.send(new FormData(form));
    });
  }

  document.querySelectorAll("form[data-upload]").forEach(setUp);
}());
