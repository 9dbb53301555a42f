// The attendance QR on a projector: fetch the next code when the current step ends (the server
// signs a new token every step), so a photo of an old code soon stops working. No inline script.
(function () {
  "use strict";
  var screen = document.getElementById("qr-screen");
  if (!screen) { return; }
  var url = screen.dataset.frameUrl;
  function frame() { return document.getElementById("qr-frame"); }
  function schedule() {
    var step = parseInt(frame().dataset.step, 10) || 30;
    var now = Date.now() / 1000;
    var wait = (step - (now % step)) * 1000 + 300; // just after the next step begins
    window.setTimeout(refresh, Math.max(1000, Math.min(wait, step * 1000)));
  }
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var next = holder.querySelector("#qr-frame");
        if (next) { frame().replaceWith(next); }
        schedule();
      })
      .catch(function () { window.setTimeout(refresh, 3000); });
  }
  schedule();
})();
