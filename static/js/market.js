/* The portal's only script (CSP: script-src 'self', so nothing inline).
 * 1. A form marked data-once disables its submit buttons once submitted, so a double click
 *    sends one request (the server also treats a repeat as harmless).
 * 2. The language selector submits its form when changed; its button stays for keyboards
 *    and for browsers without JavaScript.
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
    if (form.dataset.submitted === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    // Disable after the browser has collected the form data, so the submitter's value is sent.
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
        button.disabled = true;
        button.setAttribute("aria-disabled", "true");
        if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
      });
    }, 0);
  });

  // A page restored from the back/forward cache must be usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      delete form.dataset.submitted;
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (button) {
        button.disabled = false;
        button.removeAttribute("aria-disabled");
      });
    });
  });

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select instanceof HTMLSelectElement && select.hasAttribute("data-autosubmit") && select.form) {
      select.form.requestSubmit();
    }
  });
})();
