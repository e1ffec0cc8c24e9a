// The screenshot review queue: live updates over a WebSocket, decisions without a page reload.
"use strict";
(() => {
  const queue = document.getElementById("queue");
  if (!queue) return;
  const status = document.getElementById("live-status");
  const empty = document.getElementById("queue-empty");
  const DELAYS = [500, 1000, 2000, 5000, 10000];
  const REMOVE_AFTER = 4000;
  let failures = 0;

  const refreshEmpty = () => {
    empty.classList.toggle("d-none", queue.querySelector(".review-card:not(.decided)") !== null);
  };

  const markDecided = (id, text) => {
    const card = document.getElementById("shot-" + id);
    if (!card) return;
    const note = card.querySelector(".decided-note");
    note.textContent = text;
    note.classList.remove("d-none");
    if (card.classList.contains("decided")) return;
    card.classList.add("decided");
    card.querySelectorAll("button, input").forEach((el) => { el.disabled = true; });
    refreshEmpty();
    setTimeout(() => { card.remove(); refreshEmpty(); }, REMOVE_AFTER);
  };

  const insertCard = (id, html) => {
    if (document.getElementById("shot-" + id)) return;
    const holder = document.createElement("div");
    holder.innerHTML = html;  // rendered by the server's template, escaped there
    const card = holder.firstElementChild;
    if (card) queue.appendChild(card);
    refreshEmpty();
  };

  const reload = async () => {
    const response = await fetch(location.pathname, {credentials: "same-origin"});
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("queue");
    if (fresh) queue.replaceChildren(...fresh.children);
    refreshEmpty();
  };

  const connect = (isReconnect) => {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/panel/tasks/review/ws");
    ws.addEventListener("open", () => {
      status.textContent = status.dataset.live;
      status.dataset.state = "live";
      if (isReconnect) reload();
      failures = 0;
    });
    ws.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (_) { return; }
      if (event.event === "resync") reload();
      else if (event.event === "submitted") insertCard(event.id, event.html);
      else if (event.event === "decided") markDecided(event.id, event.text);
    });
    ws.addEventListener("close", () => {
      status.textContent = status.dataset.offline;
      status.dataset.state = "offline";
      const delay = DELAYS[Math.min(failures, DELAYS.length - 1)];
      failures += 1;
      setTimeout(() => connect(true), delay);
    });
  };

  queue.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.classList.contains("js-decide") || event.defaultPrevented) return;
    event.preventDefault();
    const card = form.closest(".review-card");
    const out = card.querySelector(".card-message");
    const data = Object.fromEntries(new FormData(form).entries());
    delete data.csrf_token;
    let answer;
    try {
      const response = await window.bozor.post(form.action, data);
      answer = await response.json();
    } catch (_) {
      answer = {ok: false, message: "⚠"};
    }
    out.textContent = answer.message;
    out.className = "card-message small mt-2 " + (answer.ok ? "text-success" : "text-danger");
    if (answer.ok) markDecided(card.dataset.id, answer.decided || answer.message);
  });

  connect(false);
})();
