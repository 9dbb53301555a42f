// LMS Diklat ASN: the little JavaScript the pages need (everything works without it too).
// 1. htmx requests carry the page's CSRF token (meta csrf-token).
// 2. Form errors (4xx pages with content) are swapped in like successes, so users see them.
// 3. Forms with data-progress show upload progress in their <progress> element.
// 4. After an htmx swap, focus goes to the message it brought. 5. Dropdown menus close on Escape.
// 6. The phone menu opens and closes with its button (and Escape).
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
  // 4. After an htmx swap, focus moves to the message it brought ([data-swap-focus]), so
  //    keyboard and screen-reader users learn what happened (the button they used may be gone).
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-swap-focus]").forEach(function (el) {
      el.removeAttribute("data-swap-focus");
    });
  });
  document.addEventListener("htmx:afterSettle", function () {
    var el = document.querySelector("[data-swap-focus]");
    if (el) { el.removeAttribute("data-swap-focus"); el.focus(); }
  });
  // 5. Dropdown menus (details.dropdown, the header's account menu): Escape closes and returns
  //    to the toggle; moving focus out of the menu closes it.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    if (closePhoneMenu(event.target)) { return; }
    var open = document.querySelector("details.dropdown[open]");
    if (open) { open.removeAttribute("open"); open.querySelector("summary").focus(); }
  });
  document.addEventListener("focusout", function (event) {
    var menu = event.target.closest ? event.target.closest("details.dropdown[open]") : null;
    if (menu && menu.closest(".site-nav.menu-open")) { return; }  // the phone menu keeps groups open
    if (menu && event.relatedTarget && !menu.contains(event.relatedTarget)) {
      menu.removeAttribute("open");
    }
  });
  // 6. The phone menu (header.site, < 768 px): the "Menu" button shows and hides the list of
  //    every item (groups opened); Escape closes it and returns to the button.
  function closePhoneMenu(target) {
    var nav = document.querySelector(".site-nav.menu-open");
    if (!nav || !(nav.contains(target) || target === document.body)) { return false; }
    var toggle = nav.querySelector(".menu-toggle");
    nav.classList.remove("menu-open");
    toggle.setAttribute("aria-expanded", "false");
    nav.querySelectorAll(".nav-links details[open]").forEach(function (d) { d.removeAttribute("open"); });
    toggle.focus();
    return true;
  }
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest ? event.target.closest(".site-nav .menu-toggle") : null;
    if (!toggle) { return; }
    var nav = toggle.closest(".site-nav");
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("menu-open", open);
    nav.querySelectorAll(".nav-links details").forEach(function (d) { d.open = open; });
  });
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-progress]") : null;
    var status = form && form.querySelector("[data-progress-status]");
    if (status) { status.textContent = status.dataset.failed || "Error"; }
  });
})();
// Phone-friendly data (templates/_macros/table.html): filters folded under "Saring" stay folded
// on a phone and open by themselves from 768 px, where there is room for them.
(function () {
  "use strict";
  function openFiltersWhenWide() {
    if (window.matchMedia && window.matchMedia("(min-width: 768px)").matches) {
      document.querySelectorAll("details.filter-box").forEach(function (d) { d.open = true; });
    }
  }
  openFiltersWhenWide();
  document.addEventListener("htmx:afterSettle", openFiltersWhenWide);
})();
