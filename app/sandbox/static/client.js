/* The Telegram sandbox's browser client.
 *
 * One page, no build step. It plays Telegram users through the sandbox's JSON user API
 * (api/...) and gets its chat live from the server over a WebSocket (ws?user_id=&bot_id=).
 * All URLs are relative to data-base, the sandbox's own root as the server computed it, so
 * the page works at /sandbox/ on Bozor's web server and at / when the sandbox runs alone.
 *
 * Every piece of text from the server goes into the DOM as text (textContent / text nodes),
 * never as HTML: message texts are user and bot input.
 */
"use strict";

const BASE = document.body.dataset.base || "./";
const TASHKENT = { latitude: 41.311081, longitude: 69.240562 };
const AVATAR_COLOURS = ["#e17076", "#faa774", "#a695e7", "#7bc862", "#6ec9cb", "#65aadd", "#ee7aae"];
const TOAST_MS = 2500;

// The page's whole state. Messages are keyed by message_id; an element per message (or per
// album) is kept and updated in place, so an edit changes the element the reader looks at.
const state = {
  bots: [],
  botId: null,
  users: [],
  userId: null,
  channels: [],
  view: null, // "chat" | "channel" | null
  channelId: null,
  messages: new Map(),
  event: 0,
  generation: 0, // bumped on every switch; late answers of an older chat are dropped
  socket: null,
  reconnectDelay: 500,
  replyKeyboard: null,
  replyKeyboardKey: "",
  keyboardHidden: false,
  pendingPresses: new Map(), // callback_query_id -> the pressed button element
  answered: new Set(), // callback_query_ids answered before our press request returned
  files: [],
  tagFilter: "", // a #hashtag whose messages alone are shown
  editing: null, // message_id of one's own message being edited in the composer
  // null = not probed yet, true = the endpoint exists, false = the sandbox lacks it (404)
  features: { send_photo: null, send_contact: null, send_location: null, chats: null },
};

const $ = (id) => document.getElementById(id);

/* ------------------------------------------------------------------ HTTP */

// Calls the user API. Returns {status, data, missing}: `missing` is true when the route does
// not exist at all (a 404 without the user API's JSON error), i.e. an older sandbox.
async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + path, options);
  } catch (err) {
    return { status: 0, data: { error: "the sandbox is not reachable" }, missing: false };
  }
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try { data = await response.json(); } catch (err) { data = null; }
  }
  // The user API's own 404s say what is missing ({"error"}); a route that does not exist
  // gives aiohttp's text 404, or Bozor's error page ({"error", "status"} or HTML). 405: the
  // path exists for another method only, so what we asked for is missing too.
  const userApiError = Boolean(data && data.error && !("status" in data));
  const missing = (response.status === 404 && !userApiError) || response.status === 405;
  return { status: response.status, data, missing };
}

function errorText(result) {
  if (result.data && result.data.error) return result.data.error;
  return "request failed (HTTP " + result.status + ")";
}

// A POST-only route answers GET with 405 when it exists and 404 when it does not: a cheap
// way to find out, before anyone clicks, which of the newer endpoints this sandbox has.
async function probeFeatures() {
  const probes = {
    send_photo: "api/users/0/send_photo",
    send_contact: "api/users/0/send_contact",
    send_location: "api/users/0/send_location",
  };
  await Promise.all(Object.entries(probes).map(async ([name, path]) => {
    let response;
    try { response = await fetch(BASE + path); } catch (err) { return; }
    state.features[name] = response.status !== 404;
  }));
  updateComposer();
}

/* ------------------------------------------------------------------ small UI helpers */

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, TOAST_MS);
}

function alertModal(text) {
  $("modal-text").textContent = text;
  $("modal").hidden = false;
  $("modal-ok").focus();
}

function closeModal() {
  $("modal").hidden = true;
}

function initial(name) {
  const first = Array.from((name || "?").trim())[0];
  return (first || "?").toUpperCase();
}

function paintAvatar(node, id, name) {
  node.hidden = false;
  node.textContent = initial(name);
  node.style.background = AVATAR_COLOURS[Math.abs(Number(id) || 0) % AVATAR_COLOURS.length];
}

function fullName(user) {
  return [user.first_name, user.last_name].filter(Boolean).join(" ") || user.title || "?";
}

function clock(seconds) {
  if (!seconds) return "";
  const d = new Date(seconds * 1000);
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}

// Only these schemes become links; anything else (javascript:, data:) stays text.
function safeHref(href) {
  try {
    const url = new URL(href, location.href);
    return ["http:", "https:", "tg:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch (err) {
    return null;
  }
}

function fileUrl(fileId) {
  return BASE + "api/files/" + encodeURIComponent(fileId);
}

function isPhone() {
  return window.matchMedia("(max-width: 720px)").matches;
}

// On a phone the list and the chat are two screens; on a desktop both are shown.
function showScreen(name) {
  document.body.classList.toggle("show-list", name === "list");
  document.body.classList.toggle("show-chat", name === "chat");
}

/* ------------------------------------------------------------------ bots and personas */

async function loadBots() {
  const result = await api("GET", "api/bots");
  state.bots = Array.isArray(result.data) ? result.data : [];
  const saved = Number(localStorage.getItem("sandbox.bot"));
  if (!state.bots.some((b) => b.id === state.botId)) {
    const pick = state.bots.find((b) => b.id === saved) || state.bots[0];
    state.botId = pick ? pick.id : null;
  }
  renderBots();
  if (!state.bots.length) {
    // A bot appears on its first Bot API call; keep looking until one does.
    clearTimeout(loadBots.timer);
    loadBots.timer = setTimeout(async () => {
      await loadBots();
      if (state.botId && state.userId && state.view !== "channel") openChat(state.userId);
    }, 2000);
  }
}

function botLabel(bot) {
  return bot.first_name + (bot.username ? " (@" + bot.username + ")" : "");
}

function renderBots() {
  const select = $("bot-select");
  select.replaceChildren(...state.bots.map((bot) => {
    const option = el("option", "", botLabel(bot));
    option.value = String(bot.id);
    option.selected = bot.id === state.botId;
    return option;
  }));
  $("bot-pick").hidden = state.bots.length < 2;
  $("bot-one").textContent = state.bots.length === 1
    ? "Bot: " + botLabel(state.bots[0])
    : state.bots.length ? "" : "No bot yet: it appears when it first calls the Bot API.";
}

async function loadUsers() {
  const result = await api("GET", "client/users");
  if (Array.isArray(result.data)) state.users = result.data;
  renderUsers();
}

function renderUsers() {
  const list = $("persona-list");
  if (!state.users.length) {
    list.replaceChildren(el("li", "muted", "No personas yet: create one below."));
    return;
  }
  list.replaceChildren(...state.users.map((user) => {
    const item = el("li");
    const button = el("button", "item" + (user.id === state.userId && state.view === "chat" ? " active" : ""));
    button.type = "button";
    button.dataset.userId = String(user.id);
    const avatar = el("span", "avatar");
    paintAvatar(avatar, user.id, user.first_name);
    const text = el("span", "item-text");
    text.append(el("span", "item-title", fullName(user)));
    const sub = [user.username ? "@" + user.username : "id " + user.id];
    text.append(el("span", "item-sub", sub.join(" ")));
    button.append(avatar, text);
    if (user.language_code) button.append(el("span", "badge", user.language_code));
    button.addEventListener("click", () => openChat(user.id));
    item.append(button);
    return item;
  }));
}

async function createPersona(event) {
  event.preventDefault();
  const form = event.target;
  const body = {
    first_name: form.first_name.value.trim(),
    language_code: form.language_code.value,
  };
  const username = form.username.value.trim().replace(/^@/, "");
  if (username) body.username = username;
  if (!body.first_name) return;
  const result = await api("POST", "api/users", body);
  if (result.status !== 200) {
    toast(errorText(result));
    return;
  }
  form.first_name.value = "";
  form.username.value = "";
  await loadUsers();
  openChat(result.data.id);
}

/* ------------------------------------------------------------------ opening a chat */

// Forget the shown conversation: its socket, long poll, elements and keyboard.
function resetConversation() {
  state.generation += 1;
  if (state.socket) {
    state.socket.close();
    state.socket = null;
  }
  if (state.channelAbort) state.channelAbort.abort();
  state.messages.clear();
  state.event = 0;
  state.tagFilter = "";
  $("filter-bar").hidden = true;
  state.editing = null;
  $("edit-bar").hidden = true;
  state.pendingPresses.clear();
  state.answered.clear();
  clearTimeout(setChatAction.timer);
  $("head-sub").classList.remove("typing");
  setReplyKeyboard(null);
  $("messages").replaceChildren();
  $("members").hidden = true;
  $("blocked-bar").hidden = true;
  clearFiles();
}

async function openChat(userId) {
  resetConversation();
  state.view = "chat";
  state.userId = userId;
  state.channelId = null;
  localStorage.setItem("sandbox.user", String(userId));
  renderUsers();
  renderChannels();
  showScreen("chat");
  const user = state.users.find((u) => u.id === userId);
  const bot = state.bots.find((b) => b.id === state.botId);
  $("members-btn").hidden = true;
  $("block-btn").hidden = !bot;
  if (bot) {
    paintAvatar($("head-avatar"), bot.id, bot.first_name);
    $("head-title").textContent = bot.first_name;
    $("head-sub").textContent = "bot · you are " + (user ? fullName(user) : "id " + userId);
    $("head-sub").dataset.normal = $("head-sub").textContent;
  } else {
    paintAvatar($("head-avatar"), 0, "?");
    $("head-title").textContent = "No bot yet";
    $("head-sub").textContent = user ? "you are " + fullName(user) : "";
    placeholder("No bot exists yet: start your bot, it appears on its first Bot API call.");
  }
  updateComposer();
  if (bot) connect(state.generation);
}

function placeholder(text) {
  $("messages").replaceChildren(el("p", "placeholder", text));
}

/* ------------------------------------------------------------------ the live socket */

function connect(generation) {
  const url = new URL(BASE + "ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("user_id", String(state.userId));
  url.searchParams.set("bot_id", String(state.botId));
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.addEventListener("message", (event) => {
    if (generation !== state.generation) return;
    let data;
    try { data = JSON.parse(event.data); } catch (err) { return; }
    state.reconnectDelay = 500;
    if (data.type === "chat") applyChat(data, true);
    else if (data.type === "changes") applyChat(data, false);
    else if (data.type === "error") {
      socket.failed = true; // e.g. an unknown user: asking again would not help
      placeholder(data.error);
    }
  });
  socket.addEventListener("close", () => {
    if (generation !== state.generation || socket.failed) return;
    // The server closes on shutdown or restarts; come back with growing pauses.
    setTimeout(() => {
      if (generation === state.generation) connect(generation);
    }, state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 5000);
  });
}

// Apply a full view (`full`: messages missing from it are gone) or a set of changes.
function applyChat(data, full) {
  const box = $("messages");
  const stick = nearBottom();
  if (full) {
    const keep = new Set(data.messages.map((m) => m.message_id));
    for (const mid of Array.from(state.messages.keys())) {
      if (!keep.has(mid)) removeMessage(mid);
    }
    box.querySelectorAll(".placeholder").forEach((p) => p.remove());
  }
  for (const message of data.messages) upsertMessage(message);
  if (!state.messages.size && !box.querySelector(".placeholder")) {
    box.append(el("p", "placeholder", "No messages here yet. Say /start."));
  } else if (state.messages.size) {
    box.querySelectorAll(".placeholder").forEach((p) => p.remove());
  }
  state.event = data.event;
  if ("reply_keyboard" in data) {
    // A used one-time keyboard comes back folded: the toggle can still reopen it.
    const folded = !data.reply_keyboard && data.hidden_reply_keyboard;
    setReplyKeyboard(data.reply_keyboard || data.hidden_reply_keyboard || null, Boolean(folded));
  }
  if ("blocked" in data) setBlocked(data.blocked);
  if ("chat_action" in data) setChatAction(data.chat_action);
  if (!full) for (const answer of data.callback_answers || []) showCallbackAnswer(answer);
  if (state.tagFilter) applyTagFilter();
  if (stick) scrollToBottom();
}

function showCallbackAnswer(answer) {
  const button = state.pendingPresses.get(answer.callback_query_id);
  if (button) button.classList.remove("loading");
  else state.answered.add(answer.callback_query_id); // the bot beat our own request
  state.pendingPresses.delete(answer.callback_query_id);
  if (!answer.text) return;
  if (answer.show_alert) alertModal(answer.text);
  else toast(answer.text);
}

function setBlocked(blocked) {
  state.blocked = blocked;
  $("blocked-bar").hidden = !blocked;
  $("block-btn").textContent = blocked ? "Unblock" : "Block";
  updateComposer();
}

function setChatAction(action) {
  const sub = $("head-sub");
  clearTimeout(setChatAction.timer);
  if (!action) {
    sub.classList.remove("typing");
    if (sub.dataset.normal) sub.textContent = sub.dataset.normal;
    return;
  }
  if (!sub.classList.contains("typing")) sub.dataset.normal = sub.textContent;
  sub.classList.add("typing");
  sub.textContent = action === "typing" ? "typing…" : action.replace(/_/g, " ") + "…";
  // Telegram clients show an action for 5 s unless a message ends it sooner.
  setChatAction.timer = setTimeout(() => setChatAction(null), 5000);
}

/* ------------------------------------------------------------------ messages in the DOM */

function nearBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function scrollToBottom() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function messageElement(mid) {
  return $("messages").querySelector('[data-mid="' + mid + '"]');
}

function albumElement(group) {
  for (const node of $("messages").querySelectorAll(".msg[data-group]")) {
    if (node.dataset.group === group) return node;
  }
  return null;
}

// Put `node` among the messages in message_id order (`mid` is its first message).
function place(node, mid) {
  node.dataset.order = String(mid);
  const box = $("messages");
  let last = box.lastElementChild;
  while (last && !last.classList.contains("msg")) last = last.previousElementSibling;
  if (!last || Number(last.dataset.order) < mid) { // the usual case: a new message at the end
    box.append(node);
    return;
  }
  for (const other of box.querySelectorAll(".msg")) {
    if (other !== node && Number(other.dataset.order) > mid) {
      box.insertBefore(node, other);
      return;
    }
  }
  box.append(node);
}

// Deleted messages disappear, as in Telegram; an album loses just that photo.
function removeMessage(mid) {
  const old = state.messages.get(mid);
  state.messages.delete(mid);
  if (old && old.media_group_id) {
    renderAlbum(old.media_group_id);
    return;
  }
  const node = messageElement(mid);
  if (node) node.remove();
}

function upsertMessage(message) {
  const mid = message.message_id;
  if (message.deleted) {
    removeMessage(mid);
    return;
  }
  state.messages.set(mid, message);
  if (message.media_group_id) {
    renderAlbum(message.media_group_id);
    return;
  }
  let node = messageElement(mid);
  const fresh = !node;
  if (fresh) {
    node = el("div");
    node.dataset.mid = String(mid);
  }
  fillMessage(node, [message]);
  if (fresh) place(node, mid);
}

function renderAlbum(group) {
  const members = Array.from(state.messages.values())
    .filter((m) => m.media_group_id === group)
    .sort((a, b) => a.message_id - b.message_id);
  let node = albumElement(group);
  if (!members.length) {
    if (node) node.remove();
    return;
  }
  const fresh = !node;
  if (fresh) {
    node = el("div");
    node.dataset.group = group;
  }
  node.dataset.mid = String(members[0].message_id);
  fillMessage(node, members);
  if (fresh) place(node, members[0].message_id);
}

function isOutgoing(message) {
  if (state.view === "channel") return false;
  return Boolean(message.from && !message.from.is_bot && message.from.id === state.userId);
}

// (Re)build a message element's insides from one message, or from the messages of an album.
function fillMessage(node, messages) {
  const first = messages[0];
  const captioned = messages.find((m) => m.caption || m.text) || first;
  node.className = "msg " + (isOutgoing(first) ? "out" : "in") + (messages.length > 1 ? " album" : "");
  const bubble = el("div", "bubble");
  if (state.view === "channel" && first.author_signature) {
    bubble.append(el("div", "author", first.author_signature));
  } else if (state.view === "channel" && first.from && !first.sender_chat) {
    bubble.append(el("div", "author", fullName(first.from)));
  }
  if (first.forward_origin || first.forward_from || first.forward_from_chat) {
    bubble.append(el("div", "forwarded", "Forwarded message"));
  }
  if (first.reply_to_message) bubble.append(replyQuote(first.reply_to_message));
  // An album is a grid of two columns; with an odd count the first photo spans both.
  const grid = messages.length > 1 ? " grid" + (messages.length % 2 ? " odd" : "") : "";
  const media = el("div", "media" + grid);
  for (const m of messages) appendMedia(media, m);
  if (media.childElementCount) bubble.append(media);
  const body = captioned.text !== undefined ? captioned.text : captioned.caption;
  const entities = captioned.text !== undefined ? captioned.entities : captioned.caption_entities;
  if (body) {
    const text = el("div", "text");
    text.append(renderText(body, entities || []));
    bubble.append(text);
  }
  if (!body && !media.childElementCount) {
    bubble.append(el("div", "text unsupported", "This kind of message is not shown in the sandbox client"));
  }
  const chips = reactionChips(captioned);
  if (chips) bubble.append(chips);
  const meta = el("span", "meta");
  if (messages.some((m) => m.pinned)) meta.append(el("span", "pinned", "pinned"));
  if (messages.some((m) => m.edit_date)) meta.append(el("span", "edited", "edited"));
  meta.append(el("span", "time", clock(first.date)));
  bubble.append(meta);
  const parts = [bubble];
  if (state.userId !== null) parts.push(messageActions(captioned, isOutgoing(first)));
  const markup = messages.map((m) => m.reply_markup).find((r) => r && r.inline_keyboard);
  if (markup) parts.push(inlineKeyboard(markup.inline_keyboard, captioned.message_id));
  node.replaceChildren(...parts);
}

/* ------------------------------------------------------------------ reactions and edits */

const QUICK_REACTIONS = ["👍", "❤", "🔥", "🎉", "😁", "👎", "🤔", "🙏"];

function reactionChips(message) {
  if (!message.reactions || !message.reactions.length) return null;
  const box = el("div", "reactions");
  for (const r of message.reactions) {
    const mine = (r.actors || []).includes(state.userId);
    const chip = el("button", "chip" + (mine ? " mine" : ""), (r.emoji || "★") + " " + r.count);
    chip.type = "button";
    chip.addEventListener("click", () => reactTo(message, r.emoji));
    box.append(chip);
  }
  return box;
}

// The row under a message: react (a small picker), and Edit on one's own text.
function messageActions(message, outgoing) {
  const box = el("div", "msg-actions");
  const react = el("button", "act", "☺");
  react.type = "button";
  react.title = "React";
  react.setAttribute("aria-label", "React");
  react.addEventListener("click", () => {
    const open = box.querySelector(".picker");
    if (open) {
      open.remove();
      return;
    }
    const picker = el("span", "picker");
    for (const emoji of QUICK_REACTIONS) {
      const b = el("button", "act", emoji);
      b.type = "button";
      b.setAttribute("aria-label", "React " + emoji);
      b.addEventListener("click", () => reactTo(message, emoji));
      picker.append(b);
    }
    box.append(picker);
  });
  box.append(react);
  const text = message.text !== undefined ? message.text : message.caption;
  if (outgoing && text !== undefined && state.view === "chat") {
    const edit = el("button", "act", "Edit");
    edit.type = "button";
    edit.addEventListener("click", () => startEdit(message, text));
    box.append(edit);
  }
  return box;
}

function where() {
  return state.view === "channel" ? { chat_id: state.channelId } : { bot_id: state.botId };
}

async function reactTo(message, emoji) {
  const mine = (message.reactions || []).some((r) => r.emoji === emoji && (r.actors || []).includes(state.userId));
  const result = await api("POST", "api/users/" + state.userId + "/react", {
    message_id: message.message_id, emoji: mine ? [] : emoji, ...where(),
  });
  if (result.status !== 200) toast(errorText(result));
  else upsertMessage(result.data);
}

function startEdit(message, text) {
  state.editing = message.message_id;
  $("edit-bar").hidden = false;
  $("text").value = text;
  autosize();
  $("text").focus();
}

function stopEdit() {
  state.editing = null;
  $("edit-bar").hidden = true;
  $("text").value = "";
  autosize();
}

async function submitEdit(text) {
  const result = await api("POST", "api/users/" + state.userId + "/edit", {
    message_id: state.editing, text, ...where(),
  });
  if (result.status !== 200) {
    toast(errorText(result));
    return;
  }
  upsertMessage(result.data);
  stopEdit();
}

function replyQuote(reply) {
  const quote = el("div", "quote");
  quote.append(el("div", "quote-name", reply.from ? fullName(reply.from) : reply.chat ? fullName(reply.chat) : ""));
  const text = reply.text || reply.caption || (reply.photo ? "Photo" : "Message");
  quote.append(el("div", "quote-text", text));
  return quote;
}

function appendMedia(box, message) {
  if (Array.isArray(message.photo) && message.photo.length) {
    // PhotoSize array: the largest is the best to show.
    const best = message.photo.reduce((a, b) => ((b.width || 0) * (b.height || 0) >= (a.width || 0) * (a.height || 0) ? b : a));
    const img = el("img", "photo");
    img.alt = "Photo";
    img.loading = "lazy";
    img.src = fileUrl(best.file_id);
    img.dataset.mid = String(message.message_id);
    img.addEventListener("error", () => img.replaceWith(el("div", "no-photo", "Photo not available")));
    img.addEventListener("load", () => { if (nearBottom()) scrollToBottom(); });
    box.append(img);
  }
  if (message.contact) {
    const c = message.contact;
    const card = el("div", "card");
    card.append(el("div", "card-title", "Contact: " + [c.first_name, c.last_name].filter(Boolean).join(" ")));
    card.append(el("div", "card-sub", c.phone_number));
    box.append(card);
  }
  if (message.location) {
    const card = el("div", "card");
    card.append(el("div", "card-title", "Location"));
    card.append(el("div", "card-sub", message.location.latitude + ", " + message.location.longitude));
    box.append(card);
  }
  for (const kind of ["document", "video", "audio", "voice", "animation", "video_note", "live_photo"]) {
    const file = message[kind];
    if (!file) continue;
    const label = KIND_LABELS[kind] + (file.title ? ": " + file.title : file.file_name ? ": " + file.file_name : "");
    const seconds = file.duration ? " · " + file.duration + " s" : "";
    const link = el("a", "card file", label + seconds + (file.file_size ? " · " + Math.ceil(file.file_size / 1024) + " KB" : ""));
    link.href = fileUrl(file.file_id);
    link.target = "_blank";
    link.rel = "noopener";
    box.append(link);
  }
  if (message.sticker) box.append(el("div", "sticker", message.sticker.emoji || "Sticker"));
  appendOtherKinds(box, message);
  if (message.invoice) {
    const inv = message.invoice;
    const card = el("div", "card");
    card.append(el("div", "card-title", inv.title));
    if (inv.description) card.append(el("div", "card-sub", inv.description));
    // Amounts are in the currency's smallest unit; two decimals fit most currencies.
    card.append(el("div", "card-title", (inv.total_amount / 100).toFixed(2) + " " + inv.currency));
    box.append(card);
  }
}

const KIND_LABELS = {
  document: "📄 File", video: "🎬 Video", audio: "🎵 Audio", voice: "🎤 Voice message",
  animation: "🎞 GIF", video_note: "⏺ Video message", live_photo: "📸 Live photo",
};

function card(title, sub) {
  const node = el("div", "card");
  node.append(el("div", "card-title", title));
  if (sub) node.append(el("div", "card-sub", sub));
  return node;
}

// Polls (a tap on an option votes), dice, venues, games, paid media, gifts, payments and
// service messages: shown as labelled cards, as the sandbox client does not draw them.
function appendOtherKinds(box, message) {
  if (message.poll) {
    const poll = message.poll;
    const node = card("📊 " + poll.question, (poll.is_closed ? "Final results · " : "") + poll.total_voter_count + " votes");
    poll.options.forEach((option, index) => {
      const row = el("button", "poll-option", option.text + " — " + option.voter_count);
      row.type = "button";
      row.disabled = poll.is_closed || state.userId === null;
      row.addEventListener("click", () => vote(message, index));
      node.append(row);
    });
    box.append(node);
  }
  if (message.dice) box.append(card(message.dice.emoji + " " + message.dice.value, "Dice"));
  if (message.venue) box.append(card("📍 " + message.venue.title, message.venue.address));
  if (message.game) box.append(card("🎮 " + message.game.title, message.game.text || message.game.description));
  if (message.paid_media) box.append(card("⭐ Paid media", message.paid_media.paid_media.length + " item(s) for " + message.paid_media.star_count + " Stars"));
  if (message.gift) box.append(card("🎁 Gift", (message.gift.gift.sticker.emoji || "") + " " + (message.gift.text || "")));
  if (message.successful_payment) box.append(card("✅ Payment", message.successful_payment.total_amount + " " + message.successful_payment.currency));
  if (message.refunded_payment) box.append(card("↩ Refund", message.refunded_payment.total_amount + " " + message.refunded_payment.currency));
  const service = serviceText(message);
  if (service) box.append(el("div", "service", service));
}

function serviceText(m) {
  if (m.new_chat_members) return m.new_chat_members.map(fullName).join(", ") + " joined";
  if (m.left_chat_member) return fullName(m.left_chat_member) + " left";
  if (m.new_chat_title) return "Title changed to " + m.new_chat_title;
  if (m.new_chat_photo) return "Chat photo changed";
  if (m.delete_chat_photo) return "Chat photo removed";
  if (m.forum_topic_created) return "Topic created: " + m.forum_topic_created.name;
  if (m.forum_topic_edited) return "Topic edited" + (m.forum_topic_edited.name ? ": " + m.forum_topic_edited.name : "");
  if (m.forum_topic_closed) return "Topic closed";
  if (m.forum_topic_reopened) return "Topic reopened";
  if (m.general_forum_topic_hidden) return "General topic hidden";
  if (m.general_forum_topic_unhidden) return "General topic shown";
  return "";
}

async function vote(message, index) {
  const result = await api("POST", "api/users/" + state.userId + "/vote", {
    message_id: message.message_id, option_ids: [index], ...where(),
  });
  if (result.status !== 200) toast(errorText(result));
  else upsertMessage(result.data);
}

// Text with Telegram entities (UTF-16 offsets, like JS strings). The text is cut at every
// entity boundary and each piece is wrapped in the elements of the entities covering it;
// pieces are always text nodes, so nothing in a message can become markup.
function renderText(text, entities) {
  const fragment = document.createDocumentFragment();
  if (!entities.length) {
    fragment.append(document.createTextNode(text));
    return fragment;
  }
  const cuts = new Set([0, text.length]);
  for (const e of entities) {
    cuts.add(Math.max(0, Math.min(text.length, e.offset)));
    cuts.add(Math.max(0, Math.min(text.length, e.offset + e.length)));
  }
  const points = Array.from(cuts).sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    const [start, end] = [points[i], points[i + 1]];
    let node = document.createTextNode(text.slice(start, end));
    const covering = entities
      .filter((e) => e.offset <= start && e.offset + e.length >= end)
      .sort((a, b) => b.offset - a.offset || a.length - b.length); // innermost first
    for (const e of covering) node = wrapEntity(e, node, text.slice(e.offset, e.offset + e.length));
    fragment.append(node);
  }
  return fragment;
}

const ENTITY_TAGS = {
  bold: "strong", italic: "em", underline: "u", strikethrough: "s", code: "code", pre: "pre",
  blockquote: "blockquote", expandable_blockquote: "blockquote",
};

function wrapEntity(entity, child, whole) {
  let wrapper;
  if (ENTITY_TAGS[entity.type]) {
    wrapper = el(ENTITY_TAGS[entity.type]);
  } else if (entity.type === "url" || entity.type === "text_link") {
    const raw = entity.type === "url" ? (/^[a-z]+:/i.test(whole) ? whole : "https://" + whole) : entity.url;
    wrapper = linkTo(raw);
    if (!wrapper) return child;
  } else if (entity.type === "email") {
    wrapper = linkTo("mailto:" + whole);
  } else if (entity.type === "bot_command") {
    // As in Telegram, a tap on a /command sends it (in a chat with the bot).
    wrapper = el("span", "command");
    wrapper.addEventListener("click", () => sendText(whole));
  } else if (entity.type === "mention") {
    wrapper = el("a", "mention");
    wrapper.href = "#";
    wrapper.addEventListener("click", (event) => {
      event.preventDefault();
      openUsername(whole.slice(1), null);
    });
  } else if (entity.type === "hashtag" || entity.type === "cashtag") {
    wrapper = el("a", "hashtag");
    wrapper.href = "#";
    wrapper.addEventListener("click", (event) => {
      event.preventDefault();
      filterByTag(whole);
    });
  } else if (entity.type === "spoiler") {
    wrapper = el("span", "spoiler");
    wrapper.addEventListener("click", () => wrapper.classList.add("shown"));
  } else if (["phone_number", "text_mention"].includes(entity.type)) {
    wrapper = el("span", "linkish");
  } else {
    return child;
  }
  wrapper.append(child);
  return wrapper;
}

/* ------------------------------------------------------------------ links into Telegram */

// A t.me/name[?start=x] or tg://resolve?domain=name[&start=x] link: {username, start} or null.
function telegramTarget(href) {
  let url;
  try { url = new URL(href, location.href); } catch (err) { return null; }
  if (url.protocol === "tg:") {
    const params = new URLSearchParams(url.search || href.split("?")[1] || "");
    const domain = params.get("domain");
    return domain ? { username: domain, start: params.get("start") } : null;
  }
  if (!["http:", "https:"].includes(url.protocol)) return null;
  if (!["t.me", "telegram.me", "www.t.me"].includes(url.hostname.toLowerCase())) return null;
  const name = url.pathname.split("/")[1] || "";
  if (!/^[A-Za-z][A-Za-z0-9_]{3,31}$/.test(name)) return null;
  return { username: name, start: url.searchParams.get("start") };
}

// An <a> for any link: t.me links stay in the sandbox, others open in a new tab.
function linkTo(raw) {
  const target = telegramTarget(raw);
  const href = safeHref(raw);
  if (!target && !href) return null;
  const link = el("a");
  link.href = href || "#";
  if (target) {
    link.dataset.telegram = target.username;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      openUsername(target.username, target.start);
    });
  } else {
    link.target = "_blank";
    link.rel = "noopener noreferrer";
  }
  return link;
}

// What Telegram does with @name or t.me/name: a bot's chat (sending /start <payload> when the
// link carries one), a channel or group, or the person's name.
async function openUsername(username, start) {
  const name = username.toLowerCase();
  if (!state.bots.some((b) => (b.username || "").toLowerCase() === name)) await loadBots();
  const bot = state.bots.find((b) => (b.username || "").toLowerCase() === name);
  if (bot) {
    if (state.userId === null) {
      toast("Pick a persona first: the chat opens as them");
      switchTab("personas");
      return;
    }
    state.botId = bot.id;
    localStorage.setItem("sandbox.bot", String(bot.id));
    renderBots();
    await openChat(state.userId);
    if (start !== null && start !== undefined) await sendText(start ? "/start " + start : "/start");
    return;
  }
  if (state.features.chats !== false) await loadChannels();
  const chat = state.channels.find((c) => (c.username || "").toLowerCase() === name);
  if (chat) {
    openChannel(chat);
    return;
  }
  const user = state.users.find((u) => (u.username || "").toLowerCase() === name);
  toast(user ? "@" + username + " is " + fullName(user) : "@" + username + " is not in this sandbox");
}

// A tap on a #hashtag shows only the messages of this chat that carry it, as a search would.
function filterByTag(tag) {
  state.tagFilter = tag.toLowerCase();
  applyTagFilter();
}

function applyTagFilter() {
  const bar = $("filter-bar");
  const tag = state.tagFilter;
  bar.hidden = !tag;
  let shown = 0;
  for (const node of $("messages").querySelectorAll(".msg")) {
    const match = !tag || node.textContent.toLowerCase().includes(tag);
    node.style.display = match ? "" : "none";
    if (match) shown += 1;
  }
  if (tag) $("filter-text").textContent = shown + " message" + (shown === 1 ? "" : "s") + " with " + tag;
}

/* ------------------------------------------------------------------ inline keyboards */

function inlineKeyboard(rows, messageId) {
  const box = el("div", "ikb");
  for (const row of rows) {
    const line = el("div", "ikb-row");
    for (const button of row) line.append(inlineButton(button, messageId));
    box.append(line);
  }
  return box;
}

function inlineButton(button, messageId) {
  if (button.url) {
    const link = linkTo(button.url) || el("a");
    link.className = "ikb-btn";
    link.textContent = button.text + (link.dataset.telegram ? "" : " ↗");
    return link;
  }
  const node = el("button", "ikb-btn", button.text);
  node.type = "button";
  if (button.callback_data !== undefined) {
    node.addEventListener("click", () => pressInline(node, button, messageId));
  } else if (button.pay) {
    node.addEventListener("click", () => pay(node, messageId));
  } else if (button.copy_text) {
    node.addEventListener("click", () => {
      if (navigator.clipboard) navigator.clipboard.writeText(button.copy_text.text).catch(() => {});
      toast("Copied to clipboard");
    });
  } else {
    node.disabled = true;
    node.title = "This kind of button is not available in the sandbox";
  }
  return node;
}

// An invoice's Pay button: the bot gets a pre_checkout_query (where the sandbox has payments).
async function pay(node, messageId) {
  const result = await api("POST", "api/users/" + state.userId + "/pay", { bot_id: state.botId, message_id: messageId });
  if (result.missing) {
    node.disabled = true;
    toast("Payments are not available in this sandbox");
  } else if (result.status !== 200) {
    toast(errorText(result));
  } else {
    toast("Payment sent to the bot");
  }
}

async function pressInline(node, button, messageId) {
  const generation = state.generation;
  node.classList.add("loading");
  const result = await api("POST", "api/users/" + state.userId + "/press", {
    bot_id: state.botId,
    message_id: messageId,
    callback_data: button.callback_data,
    button_text: button.text,
  });
  if (generation !== state.generation) return;
  if (result.status !== 200) {
    node.classList.remove("loading");
    toast(errorText(result));
    return;
  }
  if (result.data.url) {
    node.classList.remove("loading");
    const target = telegramTarget(result.data.url);
    if (target) openUsername(target.username, target.start);
    else window.open(result.data.url, "_blank", "noopener");
    return;
  }
  if (state.answered.delete(result.data.callback_query_id)) {
    node.classList.remove("loading");
    return;
  }
  state.pendingPresses.set(result.data.callback_query_id, node);
  // Telegram stops the spinner when the bot does not answer in time.
  setTimeout(() => node.classList.remove("loading"), 5000);
}

/* ------------------------------------------------------------------ reply keyboards */

function setReplyKeyboard(markup, folded) {
  const key = markup ? JSON.stringify(markup) : "";
  if (folded) {
    state.keyboardHidden = true;
  } else if (key !== state.replyKeyboardKey) {
    state.keyboardHidden = false; // a new keyboard from the bot is shown again
  }
  state.replyKeyboard = markup && markup.keyboard ? markup : null;
  state.replyKeyboardKey = key;
  renderReplyKeyboard();
}

function renderReplyKeyboard() {
  const box = $("reply-keyboard");
  const markup = state.replyKeyboard;
  $("kb-toggle").hidden = !markup;
  $("text").placeholder = (markup && markup.input_field_placeholder) || "Message";
  if (!markup || state.keyboardHidden || state.view !== "chat") {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.replaceChildren(...markup.keyboard.map((row) => {
    const line = el("div", "rkb-row");
    for (const raw of row) {
      const button = typeof raw === "string" ? { text: raw } : raw;
      const node = el("button", "rkb-btn", button.text);
      node.type = "button";
      if (button.request_contact) {
        node.classList.add("special");
        node.disabled = state.features.send_contact === false;
        node.title = node.disabled ? "Sharing a contact is not available in this sandbox" : "Sends your phone number";
        if (node.disabled) node.append(el("small", "na", " (not available)"));
        node.addEventListener("click", () => shareContact(markup));
      } else if (button.request_location) {
        node.classList.add("special");
        node.disabled = state.features.send_location === false;
        node.title = node.disabled ? "Sharing a location is not available in this sandbox" : "Sends a location in Tashkent";
        if (node.disabled) node.append(el("small", "na", " (not available)"));
        node.addEventListener("click", () => shareLocation(markup));
      } else if (button.request_users || button.request_chat || button.request_poll || button.web_app) {
        node.disabled = true;
        node.title = "This kind of button is not available in the sandbox";
      } else {
        node.addEventListener("click", async () => {
          await sendText(button.text);
          afterReplyButton(markup);
        });
      }
      line.append(node);
    }
    return line;
  }));
  box.hidden = false;
}

function afterReplyButton(markup) {
  if (markup.one_time_keyboard) {
    state.keyboardHidden = true;
    renderReplyKeyboard();
  }
}

// The sandbox's personas have no phone: derive a stable Uzbek-looking one from the user id.
function fakePhone(userId) {
  return "+99890" + String(userId).slice(-7).padStart(7, "0");
}

async function shareContact(markup) {
  const user = state.users.find((u) => u.id === state.userId) || {};
  const result = await api("POST", "api/users/" + state.userId + "/send_contact", {
    bot_id: state.botId,
    phone_number: fakePhone(state.userId),
    first_name: user.first_name,
  });
  afterSpecialSend(result, "send_contact", "Sharing a contact");
  if (result.status === 200) afterReplyButton(markup);
}

async function shareLocation(markup) {
  const result = await api("POST", "api/users/" + state.userId + "/send_location", {
    bot_id: state.botId, ...TASHKENT,
  });
  afterSpecialSend(result, "send_location", "Sharing a location");
  if (result.status === 200) afterReplyButton(markup);
}

function afterSpecialSend(result, feature, what) {
  if (result.missing) {
    state.features[feature] = false;
    toast(what + " is not available in this sandbox");
    renderReplyKeyboard();
    return;
  }
  if (result.status !== 200) {
    toast(errorText(result));
    return;
  }
  if (result.data && result.data.message_id) upsertMessage(result.data);
  scrollToBottom();
}

/* ------------------------------------------------------------------ the composer */

function updateComposer() {
  const chat = state.view === "chat" && state.botId !== null;
  const usable = chat && !state.blocked;
  $("composer").hidden = state.view === "channel";
  $("text").disabled = !usable;
  $("send").disabled = !usable;
  $("attach-btn").hidden = !chat || state.features.send_photo === false;
  $("attach-btn").disabled = !usable;
  renderReplyKeyboard();
}

async function sendText(text) {
  if (!text.trim() || state.view !== "chat" || state.botId === null) return false;
  const result = await api("POST", "api/users/" + state.userId + "/send", { bot_id: state.botId, text });
  if (result.status !== 200) {
    toast(errorText(result));
    return false;
  }
  upsertMessage(result.data); // the socket brings it too; this just shows it at once
  $("messages").querySelectorAll(".placeholder").forEach((p) => p.remove());
  scrollToBottom();
  return true;
}

async function submitComposer(event) {
  if (event) event.preventDefault();
  const input = $("text");
  const text = input.value;
  if (state.editing) {
    if (text.trim()) await submitEdit(text);
    return;
  }
  if (state.files.length) {
    if (await sendPhotos(text)) {
      input.value = "";
      autosize();
    }
    return;
  }
  if (!text.trim()) return;
  input.value = ""; // cleared at once so a fast typist does not send twice
  autosize();
  if (!(await sendText(text))) input.value = text;
  input.focus();
}

function autosize() {
  const input = $("text");
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 140) + "px";
}

function clearFiles() {
  state.files = [];
  $("file-input").value = "";
  renderFiles();
}

function renderFiles() {
  const box = $("attach-preview");
  box.hidden = !state.files.length;
  if (!state.files.length) {
    box.replaceChildren();
    return;
  }
  const label = state.files.length === 1 ? "1 photo" : state.files.length + " photos (an album)";
  const info = el("span", "", label + " · type a caption and send");
  const cancel = el("button", "link", "Remove");
  cancel.type = "button";
  cancel.addEventListener("click", clearFiles);
  box.replaceChildren(info, cancel);
}

function pickFiles() {
  const files = Array.from($("file-input").files || []).filter((f) => f.type.startsWith("image/"));
  if (files.length > 10) toast("An album holds at most 10 photos; the first 10 are kept");
  state.files = files.slice(0, 10);
  renderFiles();
  $("text").focus();
}

async function sendPhotos(caption) {
  const form = new FormData();
  for (const file of state.files) form.append("photo", file, file.name);
  if (caption.trim()) form.append("caption", caption);
  form.append("bot_id", String(state.botId));
  const result = await api("POST", "api/users/" + state.userId + "/send_photo", form);
  if (result.missing) {
    state.features.send_photo = false;
    clearFiles();
    updateComposer();
    toast("Sending photos is not available in this sandbox");
    return false;
  }
  if (result.status !== 200) {
    toast(errorText(result));
    return false;
  }
  // One message or a list of them (an album); the socket brings them anyway.
  const sent = Array.isArray(result.data) ? result.data : result.data && result.data.messages ? result.data.messages : [result.data];
  for (const m of sent) if (m && m.message_id) upsertMessage(m);
  clearFiles();
  scrollToBottom();
  return true;
}

async function toggleBlock() {
  const action = state.blocked ? "unblock" : "block";
  const result = await api("POST", "api/users/" + state.userId + "/" + action, { bot_id: state.botId });
  if (result.status !== 200) toast(errorText(result));
}

/* ------------------------------------------------------------------ channels */

async function loadChannels() {
  const result = await api("GET", "api/chats");
  if (result.missing) {
    state.features.chats = false;
    state.channels = [];
  } else {
    state.features.chats = true;
    state.channels = Array.isArray(result.data) ? result.data : [];
  }
  renderChannels();
}

function renderChannels() {
  const list = $("channel-list");
  const note = $("channels-note");
  if (state.features.chats === false) {
    list.replaceChildren();
    note.textContent = "Channels and groups are not available in this sandbox.";
    return;
  }
  note.textContent = state.channels.length ? "" : "No channels or groups yet.";
  list.replaceChildren(...state.channels.map((chat) => {
    const item = el("li");
    const button = el("button", "item" + (state.view === "channel" && chat.id === state.channelId ? " active" : ""));
    button.type = "button";
    const avatar = el("span", "avatar");
    paintAvatar(avatar, chat.id, chat.title);
    const text = el("span", "item-text");
    text.append(el("span", "item-title", chat.title || String(chat.id)));
    text.append(el("span", "item-sub", (chat.username ? "@" + chat.username + " · " : "") + chat.type));
    button.append(avatar, text);
    button.addEventListener("click", () => openChannel(chat));
    item.append(button);
    return item;
  }));
}

async function openChannel(chat) {
  resetConversation();
  state.view = "channel";
  state.channelId = chat.id;
  renderUsers();
  renderChannels();
  showScreen("chat");
  paintAvatar($("head-avatar"), chat.id, chat.title);
  $("head-title").textContent = chat.title || String(chat.id);
  $("head-sub").textContent = (chat.username ? "@" + chat.username + " · " : "") + chat.type;
  $("head-sub").dataset.normal = $("head-sub").textContent;
  $("members-btn").hidden = false;
  $("block-btn").hidden = true;
  updateComposer();
  pollChannel(state.generation, chat.id);
}

// Channels have no socket: long-poll their messages (the server holds each poll up to 25 s).
async function pollChannel(generation, chatId) {
  const abort = new AbortController();
  state.channelAbort = abort;
  let after = null;
  while (generation === state.generation) {
    const query = after === null ? "" : "?after_event=" + after + "&wait=25";
    let result;
    try {
      const response = await fetch(BASE + "api/chats/" + encodeURIComponent(chatId) + "/messages" + query, { signal: abort.signal });
      result = { status: response.status, data: await response.json().catch(() => null) };
    } catch (err) {
      if (abort.signal.aborted) return;
      await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    if (generation !== state.generation) return;
    if (result.status !== 200 || !result.data) {
      placeholder(result.status === 404 ? "This channel's posts are not available in this sandbox." : errorText(result));
      return;
    }
    applyChat({ event: result.data.event, messages: result.data.messages || [] }, true);
    after = result.data.event;
  }
}

// ChatMember objects from api/chats/{id}/members; without that endpoint, the chat's own
// {member id: status} map (api/chats/{id}) with names from the known users and bots.
// Returns a list, or a string saying why there is none.
async function loadMembers(chatId) {
  const path = "api/chats/" + encodeURIComponent(chatId);
  const result = await api("GET", path + "/members");
  if (result.status === 200 && Array.isArray(result.data)) return result.data.slice();
  if (!result.missing) return errorText(result);
  const chat = await api("GET", path);
  if (chat.status !== 200 || !chat.data || typeof chat.data.members !== "object") {
    return "Members are not available in this sandbox.";
  }
  const accounts = new Map([...state.users, ...state.bots].map((a) => [String(a.id), a]));
  return Object.entries(chat.data.members)
    .filter(([, status]) => status !== "left" && status !== "kicked")
    .map(([id, status]) => ({ status, user: accounts.get(id) || { id: Number(id), first_name: "id " + id } }));
}

async function toggleMembers() {
  const box = $("members");
  if (!box.hidden) {
    box.hidden = true;
    return;
  }
  const generation = state.generation;
  const members = await loadMembers(state.channelId);
  if (generation !== state.generation) return;
  box.replaceChildren();
  if (typeof members === "string") {
    box.append(el("p", "muted", members));
  } else {
    // Admins first, then everyone else, as Telegram lists them.
    const rank = { creator: 0, administrator: 1 };
    members.sort((a, b) => (rank[a.status] ?? 2) - (rank[b.status] ?? 2));
    box.append(el("h3", "", members.length + " members"));
    const list = el("ul", "member-list");
    for (const member of members) {
      const user = member.user || member;
      const row = el("li");
      row.append(el("span", "", fullName(user) + (user.username ? " @" + user.username : "")));
      if (member.status && member.status !== "member") row.append(el("span", "badge", member.status === "creator" ? "owner" : member.status));
      list.append(row);
    }
    box.append(list);
  }
  box.hidden = false;
}

/* ------------------------------------------------------------------ start */

function switchTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  $("pane-personas").hidden = name !== "personas";
  $("pane-channels").hidden = name !== "channels";
  if (name === "channels") loadChannels();
}

function wire() {
  $("persona-form").addEventListener("submit", createPersona);
  $("composer").addEventListener("submit", submitComposer);
  $("text").addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter starts a new line; not while an IME is composing a word.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submitComposer(event);
  });
  $("text").addEventListener("input", autosize);
  $("attach-btn").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", pickFiles);
  $("kb-toggle").addEventListener("click", () => {
    state.keyboardHidden = !state.keyboardHidden;
    renderReplyKeyboard();
  });
  $("back").addEventListener("click", () => {
    showScreen("list");
    loadUsers();
  });
  $("block-btn").addEventListener("click", toggleBlock);
  $("unblock-btn").addEventListener("click", toggleBlock);
  $("members-btn").addEventListener("click", toggleMembers);
  $("filter-clear").addEventListener("click", () => filterByTag(""));
  $("edit-cancel").addEventListener("click", stopEdit);
  $("modal-ok").addEventListener("click", closeModal);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    closeModal();
    if (state.editing) stopEdit();
  });
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => switchTab(tab.dataset.tab));
  $("bot-select").addEventListener("change", (event) => {
    state.botId = Number(event.target.value);
    localStorage.setItem("sandbox.bot", String(state.botId));
    if (state.view === "chat" && state.userId !== null) openChat(state.userId);
  });
  // Personas made elsewhere (tests, another tab) show up when the page is looked at again.
  window.addEventListener("focus", () => { loadUsers(); loadBots(); });
}

async function start() {
  wire();
  await Promise.all([loadBots(), loadUsers(), probeFeatures(), loadChannels()]);
  const saved = Number(localStorage.getItem("sandbox.user"));
  if (!isPhone() && state.users.some((u) => u.id === saved)) openChat(saved);
  else updateComposer();
}

start();
