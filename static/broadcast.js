// A broadcast's progress bar, kept current over a WebSocket (reconnects with back-off).
"use strict";
(() => {
  const box = document.getElementById("progress");
  if (!box) return;
  const DELAYS = [500, 1000, 2000, 5000, 10000];
  let failures = 0;
  let last = null;
  const FINAL = ["done", "cancelled"];
  const field = (name) => box.querySelector(`[data-field="${name}"]`);
  const show = (state) => {
    for (const name of ["label", "sent", "failed", "blocked", "uncertain", "left", "total"]) {
      const el = field(name);
      if (el && state[name] !== undefined) el.textContent = String(state[name]);
    }
    const done = state.total ? Math.floor(((state.total - state.left) * 100) / state.total) : 0;
    field("bar").style.width = done + "%";
    // Rate and time to finish from the last two states (the server sends each change).
    const now = Date.now() / 1000;
    const finished = state.total - state.left;
    if (last && now > last.at && finished >= last.finished && state.status === "running") {
      const rate = (finished - last.finished) / (now - last.at);
      field("rate").textContent = rate.toFixed(1);
      field("eta").textContent = rate > 0 ? Math.ceil(state.left / rate) + " s" : "—";
    } else if (state.status !== "running") {
      field("rate").textContent = "—";
      field("eta").textContent = state.left === 0 ? "0 s" : "—";
    }
    last = {at: now, finished};
    // It finished while watched: load the page again for its final report.
    if (FINAL.includes(state.status) && !FINAL.includes(box.dataset.status)) location.reload();
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
