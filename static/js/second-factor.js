// The "Print" button of the recovery codes page (no inline script: the CSP forbids it).
"use strict";
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
