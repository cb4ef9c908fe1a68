// Progressive enhancement of the bulk issuance form: a "select all" checkbox replaces the
// "select all / none" buttons (which work without JavaScript by reloading the page).
(function () {
  "use strict";
  document.querySelectorAll("form[data-select-all-form]").forEach(function (form) {
    var label = form.querySelector("[data-select-all]");
    var fallback = form.querySelector("[data-select-all-fallback]");
    if (!label) { return; }
    var all = label.querySelector("input[type=checkbox]");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=cases]"));
    function update() {
      var checked = boxes.filter(function (box) { return box.checked; }).length;
      all.checked = checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    label.hidden = false;
    if (fallback) { fallback.hidden = true; }
    update();
  });
})();
