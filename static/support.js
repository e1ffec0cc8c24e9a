// The support desk: the queue and a ticket follow the desk live over a WebSocket. On an event the
// page takes its live part ([data-live-part]) as the server renders it now (escaped there).
"use strict";
(() => {
  const status = document.getElementById("live-status");
  const parts = document.querySelectorAll("[data-live-part]");
  if (!status || parts.length === 0) return;
  const ticket = status.dataset.ticket ? Number(status.dataset.ticket) : null;
  const DELAYS = [500, 1000, 2000, 5000, 10000];
  let failures = 0;
  let pending = null;

  const reload = async () => {
    const response = await fetch(location.pathname + location.search, {credentials: "same-origin"});
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    parts.forEach((part) => {
      const fresh = page.getElementById(part.id);
      if (fresh) part.replaceChildren(...fresh.children);
    });
  };
  const soon = () => {  // several events at once make one reload
    if (pending) return;
    pending = setTimeout(() => { pending = null; reload(); }, 50);
  };
  const concerns = (event) => {
    if (ticket === null) return event.event !== "delivery";
    if (event.event === "delivery") return document.querySelector(`[data-message="${event.message_id}"]`) !== null;
    return event.ticket_id === ticket;
  };

  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/panel/support/ws");
    ws.addEventListener("open", () => {
      status.textContent = status.dataset.live;
      status.dataset.state = "live";
      soon();  // what happened between rendering the page and now (or while disconnected)
      failures = 0;
    });
    ws.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (_) { return; }
      if (event.event === "resync" || concerns(event)) soon();
    });
    ws.addEventListener("close", () => {
      status.textContent = status.dataset.offline;
      status.dataset.state = "offline";
      const delay = DELAYS[Math.min(failures, DELAYS.length - 1)];
      failures += 1;
      setTimeout(connect, delay);
    });
  };

  // A canned reply fills the answer box (the operator may still edit it).
  document.querySelectorAll("select[data-fill]").forEach((select) => {
    select.addEventListener("change", () => {
      const box = document.getElementById(select.dataset.fill);
      if (box && select.value) box.value = select.value;
    });
  });
  // LLM help: "Draft an answer" asks without leaving the page (the form posts without JS);
  // a waiting draft's "Edit" fills the answer box, which then sends that draft.
  const box = document.getElementById("reply-text");
  const draftOf = document.getElementById("reply-draft");
  const draftForm = document.getElementById("draft-form");
  if (draftForm && box) {
    draftForm.addEventListener("submit", async (submitted) => {
      submitted.preventDefault();
      const button = draftForm.querySelector("button");
      const note = document.getElementById("draft-note");
      const label = button.textContent;
      button.disabled = true;
      button.textContent = button.dataset.busy;
      note.textContent = "";
      try {
        const response = await fetch(draftForm.action, {
          method: "POST", body: new FormData(draftForm), credentials: "same-origin",
          headers: {Accept: "application/json"},
        });
        const answer = await response.json();
        if (answer.ok) {
          box.value = answer.text;
          if (draftOf) draftOf.value = "";
          note.textContent = button.dataset.ready;
          box.focus();
        } else {
          note.textContent = answer.note;
        }
      } catch (_) {
        note.textContent = "⚠";
      } finally {
        button.disabled = false;
        button.textContent = label;
      }
    });
  }
  document.addEventListener("click", (clicked) => {
    const link = clicked.target.closest("[data-edit-draft]");
    const text = document.getElementById("llm-draft-text");
    if (!link || !box || !text) return;
    clicked.preventDefault();
    box.value = text.textContent;
    if (draftOf) draftOf.value = link.dataset.editDraft;
    box.focus();
  });
  connect();
})();
