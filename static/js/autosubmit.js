/* Posts the page's form[data-autosubmit] at once: the LTI login initiation, the id_token
 * form_post and the simple launch (tokens travel in a POST body, never in a URL). The form's
 * button stays for browsers without JavaScript. A script file, because the CSP forbids inline
 * scripts. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosubmit]");
  if (form) form.submit();
})();
