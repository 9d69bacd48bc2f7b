// Public rooms ("Komunitas") in the console: the site's rooms with this agent's
// unread and the unanswered counts, the history of the open room, and the staff's
// actions there (answer, hide, pin, mute, slow mode, FAQ drafts, and for owners
// creating, renaming, archiving and ordering rooms). See docs/protocol.md
// "## Public rooms". console.js routes the public rooms' events here; the
// room's own column is drawn by room_view.js inside the conversation column.

import { t, relativeTime } from "./i18n.js";
import * as api from "./api.js";
import { h, setText, setAttr, reconcile, resetKeyed } from "./dom.js";
import { RoomView } from "./room_view.js";

// How many messages a page of history brings (the server's maximum).
const PAGE = 50;
// Counts come from the server (GET /rooms?kind=public); events ask again at most this often.
const COUNTS_DEBOUNCE_MS = 400;
const COLLAPSED_KEY = "sapa.console.rooms.collapsed";

export function listPublicRooms() {
  return api.api("/api/v1/rooms?kind=public").then((d) => d.items || []);
}

function roomPath(id, rest = "") {
  return `/api/v1/rooms/${encodeURIComponent(id)}${rest}`;
}

// One public room's messages as this agent holds them (hidden ones included).
class RoomHistory {
  constructor() {
    this.byId = new Map();
    this.loaded = false;
    this.loading = null;
    this.hasMore = false;
    this.loadingOlder = false;
    this.readSent = 0;
  }

  put(msg) {
    const had = this.byId.get(msg.id);
    this.byId.set(msg.id, had ? { ...had, ...msg } : msg);
    return !had;
  }

  ordered() {
    return [...this.byId.values()].sort((a, b) => a.seq - b.seq);
  }

  oldestSeq() {
    let min = Infinity;
    for (const m of this.byId.values()) if (m.seq < min) min = m.seq;
    return Number.isFinite(min) ? min : null;
  }

  lastSeq() {
    let max = 0;
    for (const m of this.byId.values()) if (m.seq > max) max = m.seq;
    return max;
  }
}

export class PublicRooms {
  // app: the console's App (socket, view, toasts, render scheduling).
  constructor(app) {
    this.app = app;
    this.me = app.store.me;
    this.isOwner = this.me.role === "owner";
    this.rooms = new Map();
    this.histories = new Map();
    // `${roomId}:${customerId}` -> ISO time the mute ends (from `muted` events and acks).
    this.muted = new Map();
    // messageId -> FAQ entry id made from it ("Make FAQ").
    this.faqMade = new Map();
    this.loaded = false;
    this.openId = null;
    // The message the next send answers: {id, body, author}.
    this.replyTo = null;
    this.countsTimer = null;
    this.countsBusy = false;
    this.countsAgain = false;

    const root = document.querySelector('[data-testid="inbox-rooms"]');
    this.root = root;
    this.list = root.querySelector("#rooms-list");
    this.emptyEl = root.querySelector("#rooms-empty");
    this.totalEl = root.querySelector("#rooms-total");
    this.toggle = root.querySelector("#rooms-toggle");
    this.body = root.querySelector("#rooms-body");
    this.collapsed = loadFlag(COLLAPSED_KEY);
    this.toggle.addEventListener("click", () => {
      this.collapsed = !this.collapsed;
      saveFlag(COLLAPSED_KEY, this.collapsed);
      this.renderList();
    });
    const form = root.querySelector("#room-create");
    if (form) {
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const input = form.querySelector('[data-testid="room-create-name"]');
        this.create(input.value.trim()).then((ok) => {
          if (ok) input.value = "";
        });
      });
    }
    this.view = new RoomView(document.getElementById("conversation"), this);
  }

  get socket() {
    return this.app.socket;
  }

  has(id) {
    return this.rooms.has(id);
  }

  ordered() {
    return [...this.rooms.values()].sort(
      (a, b) => (a.position ?? 0) - (b.position ?? 0) || String(a.created_at).localeCompare(String(b.created_at)),
    );
  }

  history(id) {
    let hist = this.histories.get(id);
    if (!hist) {
      hist = new RoomHistory();
      this.histories.set(id, hist);
    }
    return hist;
  }

  isWatching(id) {
    return id === this.openId && document.visibilityState === "visible";
  }

  // ---- loading ------------------------------------------------------------

  async load() {
    let items;
    try {
      items = await listPublicRooms();
    } catch (err) {
      if (err.status !== 401) this.app.toast(err.code);
      return;
    }
    const seen = new Set();
    for (const r of items) {
      seen.add(r.id);
      const prev = this.rooms.get(r.id);
      const room = prev ? Object.assign(prev, r) : { ...r };
      if (this.isWatching(r.id) && this.history(r.id).loaded) room.unread = 0;
      this.rooms.set(r.id, room);
    }
    for (const id of [...this.rooms.keys()]) if (!seen.has(id)) this.rooms.delete(id);
    const first = !this.loaded;
    this.loaded = true;
    if (this.openId && !this.rooms.has(this.openId)) this.app.open(null);
    if (first && !this.app.openRoomId && !this.openId) this.app.openFromHash();
    this.app.scheduleRender();
  }

  // Unread and unanswered are the server's to count (its window, hidden messages,
  // answers by any agent): ask again shortly after whatever may change them.
  refreshCounts() {
    clearTimeout(this.countsTimer);
    this.countsTimer = setTimeout(async () => {
      if (this.countsBusy) {
        this.countsAgain = true;
        return;
      }
      this.countsBusy = true;
      try {
        await this.load();
      } finally {
        this.countsBusy = false;
        if (this.countsAgain) {
          this.countsAgain = false;
          this.refreshCounts();
        }
      }
    }, COUNTS_DEBOUNCE_MS);
  }

  async onWelcome() {
    await this.load();
    for (const hist of this.histories.values()) hist.readSent = 0;
    for (const [id, hist] of this.histories) if (id !== this.openId) this.histories.delete(id);
    if (this.openId) {
      // Whatever happened while we were away (hidden, unhidden, new): the latest page again.
      const hist = this.history(this.openId);
      hist.loaded = false;
      await this.loadHistory(this.openId);
    }
  }

  async loadHistory(id) {
    const hist = this.history(id);
    if (hist.loading) return hist.loading;
    hist.loading = (async () => {
      try {
        const ack = await this.socket.request("history", { room_id: id, limit: PAGE });
        const fresh = new Map();
        for (const m of ack.messages || []) fresh.set(m.id, m);
        // Keep what arrived live meanwhile (newer than the page).
        const top = Math.max(0, ...[...fresh.values()].map((m) => m.seq));
        for (const m of hist.byId.values()) if (m.seq > top && !fresh.has(m.id)) fresh.set(m.id, m);
        hist.byId = fresh;
        hist.hasMore = Boolean(ack.has_more);
        hist.loaded = true;
        this.view.stickToBottom = true;
        this.markRead();
      } catch (err) {
        if (this.openId === id) this.app.toast(err.code);
      } finally {
        hist.loading = null;
        this.app.scheduleRender();
      }
    })();
    return hist.loading;
  }

  async loadOlder() {
    const id = this.openId;
    const hist = id && this.histories.get(id);
    if (!hist || !hist.loaded || !hist.hasMore || hist.loadingOlder) return;
    const before = hist.oldestSeq();
    if (!before) return;
    hist.loadingOlder = true;
    try {
      const ack = await this.socket.request("history", { room_id: id, before_seq: before, limit: PAGE });
      const anchor = this.view.scrollAnchor();
      for (const m of ack.messages || []) if (!hist.byId.has(m.id)) hist.byId.set(m.id, m);
      hist.hasMore = Boolean(ack.has_more) && (ack.messages || []).length > 0;
      this.view.restoreAnchor = anchor;
    } catch (err) {
      this.app.toast(err.code);
    } finally {
      hist.loadingOlder = false;
      this.app.scheduleRender();
    }
  }

  // ---- events -----------------------------------------------------------------

  // Returns true when the frame was about a public room (and is handled here).
  onEvent(frame) {
    switch (frame.type) {
      case "message": {
        const msg = frame.message;
        if (!msg || !this.rooms.has(msg.room_id)) return false;
        this.applyMessage(msg);
        return true;
      }
      case "room": {
        const room = frame.room;
        if (!room || room.kind !== "public") return false;
        this.upsert(room);
        return true;
      }
      case "message_update": {
        // Its sender edited or unsent it (docs/protocol.md, "Unsend and edit").
        const msg = frame.message;
        if (!msg || !this.rooms.has(msg.room_id)) return false;
        this.applyUpdate(msg);
        return true;
      }
      case "moderated": {
        if (!this.rooms.has(frame.room_id)) return true;
        if (frame.message) this.applyModeration(frame.message);
        this.refreshCounts();
        this.app.scheduleRender();
        return true;
      }
      case "muted": {
        this.setMuted(frame.room_id, frame.customer_id, frame.until);
        this.app.scheduleRender();
        return true;
      }
      case "read": {
        if (!this.rooms.has(frame.room_id)) return false;
        const reader = frame.reader || {};
        const room = this.rooms.get(frame.room_id);
        if (reader.kind === "agent" && reader.id === this.me.id && frame.seq >= (room.last_seq || 0)) {
          room.unread = 0;
          this.app.scheduleRender();
        }
        return true;
      }
      case "typing":
        // Visitors' typing in a busy room says little; not shown.
        return this.rooms.has(frame.room_id);
      default:
        return false;
    }
  }

  upsert(incoming) {
    const prev = this.rooms.get(incoming.id);
    if (!prev) {
      this.rooms.set(incoming.id, { unread: 0, unanswered: 0, ...incoming });
      // Created elsewhere: ask for the counts as the server sees them.
      this.refreshCounts();
    } else {
      const { unread, unanswered, last_seq: lastSeq, last_message: lastMessage } = prev;
      Object.assign(prev, incoming);
      // A broadcast room carries no counters of ours, and may lag our messages.
      if (incoming.unread === undefined) prev.unread = unread;
      if (incoming.unanswered === undefined) prev.unanswered = unanswered;
      if ((incoming.last_seq ?? 0) < (lastSeq ?? 0)) {
        prev.last_seq = lastSeq;
        prev.last_message = lastMessage;
      }
    }
    this.app.scheduleRender();
  }

  applyMessage(msg) {
    const room = this.rooms.get(msg.room_id);
    const fresh = msg.seq > (room.last_seq || 0);
    if (fresh) {
      room.last_seq = msg.seq;
      room.updated_at = msg.created_at;
      room.last_message = {
        body: msg.body,
        kind: msg.kind,
        author_kind: msg.author?.kind,
        author_name: msg.author?.name,
        created_at: msg.created_at,
      };
      if (msg.author?.kind === "customer" && msg.kind === "text" && !msg.hidden) {
        if (!this.isWatching(msg.room_id)) room.unread = (room.unread || 0) + 1;
        // A new question counts at once; the server's count follows.
        if (!msg.reply_to) room.unanswered = (room.unanswered || 0) + 1;
      }
      if (msg.author?.kind === "agent" && msg.reply_to) this.refreshCounts();
      else if (msg.author?.kind === "customer") this.refreshCounts();
    }
    const hist = this.histories.get(msg.room_id);
    if (hist && (hist.loaded || hist.loading)) hist.put(msg);
    if (msg.room_id === this.openId) this.markRead();
    this.app.scheduleRender();
  }

  // An edited or unsent post replaces the copy held, and the quotes of it in answers.
  applyUpdate(msg) {
    const hist = this.histories.get(msg.room_id);
    if (hist?.byId.has(msg.id)) {
      hist.byId.set(msg.id, msg);
      for (const [id, m] of hist.byId) {
        if (m.reply_to?.id === msg.id && m.reply_to.body !== undefined) {
          hist.byId.set(id, { ...m, reply_to: { ...m.reply_to, body: msg.body.slice(0, 200) } });
        }
      }
    }
    const room = this.rooms.get(msg.room_id);
    if (room?.pinned?.id === msg.id) room.pinned = msg.deleted ? null : { ...room.pinned, body: msg.body };
    this.app.scheduleRender();
  }

  // Edit or unsend one of this agent's own posts; true when the server took it.
  async changeMessage(type, fields) {
    const ack = await this.request(type, fields);
    if (ack?.message) this.applyUpdate(ack.message);
    return Boolean(ack?.message);
  }

  applyModeration(msg) {
    const hist = this.histories.get(msg.room_id);
    const room = this.rooms.get(msg.room_id);
    if (room?.pinned?.id === msg.id && msg.hidden) room.pinned = null;
    if (!hist) return;
    const had = hist.byId.get(msg.id);
    hist.byId.set(msg.id, had ? { ...had, hidden: Boolean(msg.hidden) } : msg);
    // Answers quoting it show the quote greyed (hidden) or whole again.
    for (const [id, m] of hist.byId) {
      if (m.reply_to?.id === msg.id) {
        const quote = { ...m.reply_to };
        if (msg.hidden) quote.hidden = true;
        else delete quote.hidden;
        if (!quote.body && msg.body) {
          quote.body = msg.body.slice(0, 200);
          quote.author = msg.author;
        }
        hist.byId.set(id, { ...m, reply_to: quote });
      }
    }
  }

  setMuted(roomId, customerId, until) {
    const key = `${roomId}:${customerId}`;
    if (until && Date.parse(until) > Date.now()) this.muted.set(key, until);
    else this.muted.delete(key);
  }

  mutedUntil(roomId, customerId) {
    const until = this.muted.get(`${roomId}:${customerId}`);
    if (!until) return null;
    if (Date.parse(until) <= Date.now()) {
      this.muted.delete(`${roomId}:${customerId}`);
      return null;
    }
    return until;
  }

  // ---- opening --------------------------------------------------------------

  open(id) {
    if (this.openId !== id) this.replyTo = null;
    this.openId = id;
    this.view.show(id);
    if (!id) return;
    const hist = this.history(id);
    if (!hist.loaded) this.loadHistory(id);
    else this.markRead();
  }

  close() {
    if (!this.openId) return;
    this.openId = null;
    this.replyTo = null;
    this.view.show(null);
  }

  // This agent has seen the open room up to its latest message.
  markRead() {
    const id = this.openId;
    if (!id || !this.isWatching(id)) return;
    const room = this.rooms.get(id);
    const hist = this.histories.get(id);
    if (!room || !hist || !hist.loaded) return;
    const seq = Math.max(room.last_seq || 0, hist.lastSeq());
    if (room.unread) {
      room.unread = 0;
      this.app.scheduleRender();
    }
    if (seq > hist.readSent && this.socket.notify("read", { room_id: id, seq })) hist.readSent = seq;
  }

  // ---- staff actions ----------------------------------------------------------

  setReply(msg) {
    this.replyTo = msg ? { id: msg.id, body: msg.body, author: msg.author } : null;
    this.app.scheduleRender();
    if (msg) this.app.view.focusInput();
  }

  // A reply from the composer (console.js routes it here while a room is open).
  send(body, link, attachments = []) {
    const id = this.openId;
    if (!id) return;
    const frame = { room_id: id, client_msg_id: uuid(), body, kind: "text" };
    if (attachments.length) frame.attachments = attachments;
    if (this.replyTo) frame.reply_to = this.replyTo.id;
    // An FAQ suggestion answers the post it was suggested for.
    else if (link?.for_message_id && this.history(id).byId.get(link.for_message_id)?.author?.kind === "customer") {
      frame.reply_to = link.for_message_id;
    }
    if (link?.faq_id) {
      frame.faq_id = link.faq_id;
      if (link.for_message_id) frame.for_message_id = link.for_message_id;
    }
    const replyTo = this.replyTo;
    this.replyTo = null;
    this.view.stickToBottom = true;
    this.app.scheduleRender();
    const attempt = (left) =>
      this.socket
        .request("send", frame)
        .then((ack) => {
          if (ack.message) this.applyMessage(ack.message);
        })
        .catch((err) => {
          if (err.code === "timeout" && left > 0 && this.socket.ready) return attempt(left - 1);
          this.app.toast(err.code);
          // Nothing is lost: the text (and what it answered) goes back in the box if it is empty.
          const input = this.app.view.input;
          if (this.openId === id && !input.value.trim()) {
            input.value = body;
            this.replyTo = replyTo;
            this.app.scheduleRender();
          }
          return undefined;
        });
    attempt(1);
  }

  async request(type, fields) {
    try {
      return await this.socket.request(type, fields);
    } catch (err) {
      this.app.toast(err.code);
      return null;
    }
  }

  async moderate(messageId, action) {
    const ack = await this.request("moderate", { room_id: this.openId, message_id: messageId, action });
    if (ack?.message) {
      this.applyModeration(ack.message);
      this.refreshCounts();
      this.app.scheduleRender();
    }
  }

  async pin(messageId) {
    const ack = await this.request("room_settings", { room_id: this.openId, pinned_message_id: messageId });
    if (ack?.room) this.upsert(ack.room);
  }

  async setSlowMode(seconds) {
    const ack = await this.request("room_settings", { room_id: this.openId, slow_mode_seconds: seconds });
    if (ack?.room) this.upsert(ack.room);
    else this.app.scheduleRender();
  }

  // Whether visitors may post images in the open room (owners; off by default).
  async setVisitorImages(on) {
    const ack = await this.request("room_settings", { room_id: this.openId, visitor_images: on });
    if (ack?.room) this.upsert(ack.room);
    else this.app.scheduleRender();
  }

  async mute(customerId, minutes) {
    const roomId = this.openId;
    const ack = await this.request("mute", { room_id: roomId, customer_id: customerId, minutes });
    if (!ack) return;
    this.setMuted(roomId, customerId, ack.until);
    this.app.scheduleRender();
  }

  async makeFaq(messageId) {
    try {
      const entry = await api.api(roomPath(this.openId, `/messages/${encodeURIComponent(messageId)}/faq`), {
        method: "POST",
      });
      this.faqMade.set(messageId, entry.id);
      this.app.scheduleRender();
    } catch (err) {
      if (err.status === 409) this.app.toastText(t("rooms.faqNeedsAnswer"));
      else this.app.toast(err.code);
    }
  }

  // Owners: REST, which also tells every widget of the site.
  async create(name) {
    if (!name) return false;
    try {
      const room = await api.api("/api/v1/rooms", { method: "POST", body: { name } });
      this.upsert(room);
      this.app.open(room.id);
      return true;
    } catch (err) {
      this.app.toast(err.code);
      return false;
    }
  }

  async patch(id, fields) {
    try {
      const room = await api.api(roomPath(id), { method: "PATCH", body: fields });
      this.upsert(room);
      return true;
    } catch (err) {
      this.app.toast(err.code);
      return false;
    }
  }

  rename(name) {
    return this.patch(this.openId, { name });
  }

  setArchived(archived) {
    return this.patch(this.openId, { archived });
  }

  // Swaps the open room with its neighbour; positions are renumbered when they tie.
  async move(delta) {
    const rooms = this.ordered();
    const i = rooms.findIndex((r) => r.id === this.openId);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= rooms.length) return;
    [rooms[i], rooms[j]] = [rooms[j], rooms[i]];
    const wanted = rooms.map((r, k) => ({ room: r, position: k + 1 }));
    for (const { room, position } of wanted) {
      if (room.position !== position && !(await this.patch(room.id, { position }))) break;
    }
  }

  // ---- the inbox section ----------------------------------------------------------

  renderList() {
    const rooms = this.ordered();
    setAttr(this.toggle, "aria-expanded", String(!this.collapsed));
    this.body.hidden = this.collapsed;
    let unanswered = 0;
    for (const r of rooms) if (!r.archived) unanswered += r.unanswered || 0;
    this.totalEl.hidden = !unanswered;
    setText(this.totalEl, unanswered);
    reconcile(this.list, rooms, (r) => r.id, () => this.createItem(), (el, r) => this.updateItem(el, r));
    this.emptyEl.hidden = rooms.length > 0;
    setText(this.emptyEl, t(this.loaded ? "rooms.empty" : "rooms.loading"));
  }

  rerender() {
    resetKeyed(this.list);
    this.renderList();
    // The room's own view is redrawn by the conversation view's rerender.
    this.app.scheduleRender();
  }

  // A list item holding one button (see inbox.js).
  createItem() {
    const btn = h(
      "button",
      { type: "button", class: "item__btn" },
      h("span", { class: "room-item__icon", "aria-hidden": "true", text: "#" }),
      h(
        "span",
        { class: "item__main" },
        h(
          "span",
          { class: "item__top" },
          h("span", { class: "item__name" }),
          h("span", { class: "pill pill--archived room-item__archived" }),
          h("time", { class: "item__time" }),
        ),
        h(
          "span",
          { class: "item__bottom" },
          h("span", { class: "item__preview" }),
          h("span", { class: "badge badge--warn", "data-testid": "room-unanswered" }),
          h("span", { class: "badge", "data-testid": "room-unread" }),
        ),
      ),
    );
    const el = h("li", { class: "item room-item", "data-testid": "room-item" }, btn);
    btn.addEventListener("click", () => this.app.open(el.dataset.roomId));
    return el;
  }

  updateItem(el, room) {
    setAttr(el, "data-room-id", room.id);
    setAttr(el, "data-archived", room.archived ? "true" : null);
    setAttr(el, "aria-current", room.id === this.openId ? "true" : null);
    setAttr(el.firstElementChild, "aria-current", room.id === this.openId ? "true" : null);
    setText(el.querySelector(".item__name"), room.name || "");
    const archived = el.querySelector(".room-item__archived");
    archived.hidden = !room.archived;
    setText(archived, room.archived ? t("rooms.archived") : "");
    const time = el.querySelector(".item__time");
    const at = room.last_message?.created_at || "";
    setAttr(time, "data-iso", at || null);
    setText(time, at ? relativeTime(at) : "");
    const lm = room.last_message;
    let preview = t("inbox.noMessages");
    if (lm) {
      const who = lm.author_kind === "agent" ? t("rooms.staffShort") : lm.author_name || "";
      const body = lm.deleted ? t("conv.deleted") : lm.body;
      preview = who ? `${who}: ${body}` : body;
    }
    setText(el.querySelector(".item__preview"), preview);
    const unanswered = el.querySelector('[data-testid="room-unanswered"]');
    const un = room.unanswered || 0;
    unanswered.hidden = !un;
    setText(unanswered, un);
    setAttr(unanswered, "title", t("rooms.unansweredN", { n: un }));
    const unread = el.querySelector('[data-testid="room-unread"]');
    const ur = room.unread || 0;
    unread.hidden = !ur;
    setText(unread, ur > 99 ? "99+" : ur);
    setAttr(unread, "title", t("rooms.unreadN", { n: ur }));
    el.classList.toggle("item--unread", ur > 0);
  }
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function loadFlag(key) {
  try {
    return localStorage.getItem(key) === "1";
  } catch {
    return false;
  }
}

function saveFlag(key, on) {
  try {
    localStorage.setItem(key, on ? "1" : "0");
  } catch {
    // Only a preference.
  }
}
