// Copy buttons for share links: shown only when the Clipboard API exists; without it (or without
// JavaScript) the link stays in a read-only field the user can select and copy.
(function () {
  "use strict";
  if (!navigator.clipboard) { return; }
  function wire(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (button.dataset.wired) { return; }
      button.dataset.wired = "1";
      button.hidden = false;
      button.addEventListener("click", function () {
        var field = document.getElementById(button.dataset.copy);
        var status = button.closest(".share-link").querySelector(".copy-status");
        navigator.clipboard.writeText(field.value).then(function () {
          if (status) { status.textContent = button.dataset.copied || "OK"; }
        }, function () {
          field.focus();
          field.select();
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSwap", function (event) { wire(event.target); });
})();
