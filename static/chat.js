// The web chat's pages: the sign-in waiting page's poll, and the conversation (chat_conversation.js).
"use strict";
(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const wait = document.getElementById("telegram-wait");
  if (wait && window.qrcode) { // the deep link as a QR code, for a phone to scan (made here: no CDN)
    const qr = window.qrcode(0, "M");
    qr.addData(document.getElementById("deep-link").href);
    qr.make();
    const img = document.getElementById("deep-link-qr");
    img.src = qr.createDataURL(4, 2);
    img.classList.remove("d-none");
  }
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

// A conversation: one WebSocket per tab; the database is the authority, so after any
// reconnect the server sends what came after the last id shown, and ids already shown are
// dropped. Texts are put in with textContent only: a message is never HTML.
(function () {
  const root = document.getElementById("conversation");
  if (!root) return;
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const conversationId = Number(root.dataset.id);
  const me = Number(root.dataset.me);
  const list = document.getElementById("messages");
  const form = document.getElementById("composer");
  const bodyInput = document.getElementById("body");
  const photoInput = document.getElementById("photo-input");
  const errorBox = document.getElementById("send-error");
  const typingBox = document.getElementById("typing");
  const stateBox = document.getElementById("connection-state");
  let peerRead = Number(root.dataset.peerRead);
  // The highest id of any conversation the server has sent (or the page was rendered with): a
  // reconnect asks only for what came after it, not for other conversations' messages again.
  let seen = Number(root.dataset.latest || 0);
  let socket = null;
  let retry = 0;
  let lastTyping = 0;
  let typingTimer = null;
  const pending = new Map(); // client_id -> text, until the server says it is stored

  const shownIds = () => Array.from(list.querySelectorAll(".msg[data-id]")).map((el) => Number(el.dataset.id));
  const highest = () => Math.max(0, ...shownIds());
  const lowest = () => Math.min(...shownIds());

  function time(iso) {
    const d = new Date(iso);
    return d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  }

  function bubble(m) {
    const el = document.createElement("div");
    el.className = "msg" + (m.sender_id === me ? " mine" : "");
    el.dataset.id = m.id;
    if (m.photo) {
      const img = document.createElement("img");
      img.src = root.dataset.photoBase + m.id;
      img.alt = "";
      el.appendChild(img);
    }
    if (m.body) {
      const text = document.createElement("div");
      text.className = "text";
      text.textContent = m.body;
      el.appendChild(text);
    }
    const meta = document.createElement("div");
    meta.className = "meta";
    const t = document.createElement("time");
    t.dateTime = m.created_at;
    t.textContent = time(m.created_at);
    const receipt = document.createElement("span");
    receipt.className = "receipt";
    meta.append(t, receipt);
    el.appendChild(meta);
    return el;
  }

  function place(m) {
    if (m.conversation_id !== conversationId) return false;
    if (list.querySelector('.msg[data-id="' + m.id + '"]')) return false; // shown already
    if (m.client_id && pending.has(m.client_id)) {
      pending.delete(m.client_id);
      const draft = list.querySelector('.msg[data-client="' + CSS.escape(m.client_id) + '"]');
      if (draft) draft.remove();
    }
    const el = bubble(m);
    const after = Array.from(list.querySelectorAll(".msg[data-id]")).find((x) => Number(x.dataset.id) > m.id);
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    if (after) list.insertBefore(el, after); else list.appendChild(el);
    if (atBottom || m.sender_id === me) list.scrollTop = list.scrollHeight;
    return true;
  }

  function receipts() {
    list.querySelectorAll(".msg.mine[data-id]").forEach((el) => {
      const r = el.querySelector(".receipt");
      if (r) r.textContent = " · " + (Number(el.dataset.id) <= peerRead ? root.dataset.textRead : root.dataset.textSent);
    });
  }

  function markRead() {
    if (document.visibilityState !== "visible" || !socket || socket.readyState !== WebSocket.OPEN) return;
    const theirs = Array.from(list.querySelectorAll(".msg:not(.mine)[data-id]")).map((el) => Number(el.dataset.id));
    if (theirs.length) socket.send(JSON.stringify({type: "read", conversation_id: conversationId, upto: Math.max(...theirs)}));
  }

  function showState(text) {
    stateBox.textContent = text || "";
    stateBox.classList.toggle("d-none", !text);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/chat/ws?after=" + Math.max(highest(), seen));
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "message") {
        seen = Math.max(seen, frame.message.id);
        if (place(frame.message)) {
          receipts();
          if (frame.message.sender_id !== me) markRead();
        }
      } else if (frame.type === "sent") {
        place(frame.message);
        receipts();
      } else if (frame.type === "read") {
        if (frame.conversation_id === conversationId && frame.reader_id !== me) {
          peerRead = Math.max(peerRead, frame.upto);
          receipts();
        }
      } else if (frame.type === "typing") {
        if (frame.conversation_id === conversationId) {
          typingBox.textContent = root.dataset.textTyping;
          clearTimeout(typingTimer);
          typingTimer = setTimeout(() => { typingBox.textContent = ""; }, 4000);
        }
      } else if (frame.type === "presence") {
        if (frame.account_id === Number(root.dataset.peer)) {
          document.getElementById("peer-online").classList.toggle("d-none", !frame.online);
        }
      } else if (frame.type === "reload") { // more was missed than a socket replays: load afresh
        location.reload();
      } else if (frame.type === "ready") {
        seen = Math.max(seen, frame.latest);
        retry = 0;
        showState("");
        root.dataset.connected = "yes";
        for (const [clientId, text] of pending) { // not confirmed before the break: again, same id
          socket.send(JSON.stringify({type: "send", conversation_id: conversationId, body: text, client_id: clientId}));
        }
        markRead();
      } else if (frame.type === "error") {
        errorBox.textContent = frame.message;
        if (frame.client_id && pending.has(frame.client_id)) {
          pending.delete(frame.client_id);
          const draft = list.querySelector('.msg[data-client="' + CSS.escape(frame.client_id) + '"]');
          if (draft) draft.classList.add("opacity-50");
        }
      }
    };
    socket.onclose = (event) => {
      root.dataset.connected = "no";
      if (event.code === 4401) { location.assign("/chat/login"); return; }
      showState(root.dataset.textOffline);
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * retry);
    };
  }

  function newClientId() {
    return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).slice(0, 64);
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      errorBox.textContent = "";
      const text = bodyInput.value.trim();
      const file = photoInput && photoInput.files[0];
      if (!text && !file) return;
      const clientId = newClientId();
      if (!file && socket && socket.readyState === WebSocket.OPEN) {
        pending.set(clientId, text);
        const draft = bubble({id: 0, sender_id: me, body: text, created_at: new Date().toISOString()});
        draft.removeAttribute("data-id");
        draft.dataset.client = clientId;
        draft.classList.add("opacity-75");
        list.appendChild(draft);
        list.scrollTop = list.scrollHeight;
        socket.send(JSON.stringify({type: "send", conversation_id: conversationId, body: text, client_id: clientId}));
        bodyInput.value = "";
        return;
      }
      const data = new FormData();
      data.append("body", text);
      data.append("client_id", clientId);
      if (file) data.append("photo", file);
      const response = await fetch(root.dataset.send, {
        method: "POST", credentials: "same-origin", body: data,
        headers: {"X-CSRF-Token": csrf(), "Accept": "application/json"},
      });
      const answer = await response.json();
      if (!response.ok) { errorBox.textContent = answer.error.message; return; }
      place(answer.message);
      receipts();
      bodyInput.value = "";
      if (photoInput) photoInput.value = "";
    });
    bodyInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
    bodyInput.addEventListener("input", () => {
      const now = Date.now();
      if (now - lastTyping > 2500 && socket && socket.readyState === WebSocket.OPEN) {
        lastTyping = now;
        socket.send(JSON.stringify({type: "typing", conversation_id: conversationId}));
      }
    });
  }

  const older = document.getElementById("older");
  async function loadOlder() {
    const response = await fetch(root.dataset.history + "?before=" + lowest(), {credentials: "same-origin", headers: {"Accept": "application/json"}});
    const page = await response.json();
    const height = list.scrollHeight;
    page.messages.forEach(place);
    list.scrollTop = list.scrollHeight - height;
    receipts();
    if (!page.more && older) older.remove();
  }
  if (older) older.addEventListener("click", loadOlder);
  list.addEventListener("scroll", () => { if (list.scrollTop === 0 && document.getElementById("older")) loadOlder(); });
  document.addEventListener("visibilitychange", markRead);
  list.querySelectorAll(".msg time").forEach((t) => { t.textContent = time(t.dateTime); });
  receipts();
  list.scrollTop = list.scrollHeight;
  connect();
})();
