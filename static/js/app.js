// LMS Diklat ASN: the little JavaScript the pages need (everything works without it too).
// 1. htmx requests carry the page's CSRF token (meta csrf-token).
// 2. Form errors (4xx pages with content) are swapped in like successes, so users see them.
// 3. Forms with data-progress show upload progress in their <progress> element.
(function () {
  "use strict";
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "(409|413|415|422|429)", swap: true, error: false },
      { code: "[45]..", swap: false, error: true }
    ];
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-progress]") : null;
    if (!form || !event.detail.lengthComputable) { return; }
    var bar = form.querySelector("progress");
    var status = form.querySelector("[data-progress-status]");
    bar.hidden = false;
    bar.max = event.detail.total;
    bar.value = event.detail.loaded;
    if (status && event.detail.loaded >= event.detail.total) {
      status.textContent = status.dataset.processing || "";
      bar.removeAttribute("value");
    }
  });
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-progress]") : null;
    var status = form && form.querySelector("[data-progress-status]");
    if (status) { status.textContent = status.dataset.failed || "Error"; }
  });
})();
