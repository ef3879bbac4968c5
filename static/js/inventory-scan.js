/* Tablet scan fields: the scanner types into the focused field and presses Enter.
   - the scan field is focused (autofocus) and its text selected, so a new scan replaces
     a refused one;
   - keystrokes typed while nothing is focused go to the scan field;
   - a form is posted once, even when the scanner sends Enter twice. */
(function () {
  "use strict";

  function scanField() {
    return document.querySelector("[data-scan-field]");
  }

  function focusScan() {
    var field = scanField();
    if (field) {
      field.focus();
      if (field.select) { field.select(); }
    }
  }

  document.addEventListener("DOMContentLoaded", focusScan);

  document.addEventListener("keydown", function (event) {
    var active = document.activeElement;
    if (active && active !== document.body) { return; }
    if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
      focusScan();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-scan-form]")) { return; }
    if (form.dataset.posted === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.posted = "1";
  });

  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-scan-form]").forEach(function (form) {
      form.dataset.posted = "";
    });
  });
})();
