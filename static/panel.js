// The panel's shared script: confirm dangerous buttons, and send the CSRF token with fetch().
"use strict";
window.bozor = {
  csrf: () => document.querySelector('meta[name="csrf-token"]').content,
  // A state-changing request from a page script: the token goes in the header the server checks.
  post: (url, data) => fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: {"X-CSRF-Token": window.bozor.csrf(), "Content-Type": "application/json",
              "Accept": "application/json"},
    body: JSON.stringify(data || {}),
  }),
};
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
