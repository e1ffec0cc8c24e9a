// The web chat's pages: the sign-in waiting page's poll, and the conversation (chat_conversation.js).
"use strict";
(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const wait = document.getElementById("telegram-wait");
  if (wait) {
    const check = async () => {
      try {
        const response = await fetch(wait.dataset.check, {
          method: "POST", credentials: "same-origin",
          headers: {"X-CSRF-Token": csrf(), "Accept": "application/json"},
        });
        const body = await response.json();
        if (body.state === "done") { window.location.assign(body.next); return; }
        if (body.state === "gone") {
          document.getElementById("wait-gone").classList.remove("d-none");
          document.getElementById("wait-state").classList.add("d-none");
          return;
        }
      } catch (e) { /* the server is restarting: try again */ }
      setTimeout(check, 1000);
    };
    setTimeout(check, 500);
  }
})();
