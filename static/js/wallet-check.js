// The employer's wallet check page: asks every 3 seconds whether the wallet has answered and
// then reloads to show the result. Without JavaScript the page's "check again" link does it.
(function () {
  "use strict";
  var box = document.querySelector("[data-wallet-poll]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-wallet-poll");
  var timer = window.setInterval(function () {
    window.fetch(url, { credentials: "omit", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : { gone: true }; })
      .then(function (state) {
        if (state.answered || state.gone) { window.clearInterval(timer); window.location.reload(); }
      })
      .catch(function () { /* try again at the next tick */ });
  }, 3000);
})();
