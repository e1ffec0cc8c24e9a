// A broadcast's progress bar, kept current over a WebSocket (reconnects with back-off).
"use strict";
(() => {
  const box = document.getElementById("progress");
  if (!box) return;
  const DELAYS = [500, 1000, 2000, 5000, 10000];
  let failures = 0;
  const field = (name) => box.querySelector(`[data-field="${name}"]`);
  const show = (state) => {
    for (const name of ["status", "sent", "failed", "blocked", "uncertain", "left", "total"]) {
      const el = field(name);
      if (el && state[name] !== undefined) el.textContent = String(state[name]);
    }
    const done = state.total ? Math.floor(((state.total - state.left) * 100) / state.total) : 0;
    field("bar").style.width = done + "%";
  };
  field("bar").style.width = (field("bar").dataset.percent || "0") + "%";
  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(scheme + "//" + location.host + box.dataset.ws);
    ws.onopen = () => { failures = 0; };
    ws.onmessage = (msg) => show(JSON.parse(msg.data));
    ws.onclose = () => {
      setTimeout(connect, DELAYS[Math.min(failures, DELAYS.length - 1)]);
      failures += 1;
    };
  };
  connect();
})();
