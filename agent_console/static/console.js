// Boot and wiring: reads the boot data, owns the socket and the store, and
// turns server events and agent actions into store changes plus a re-render.

import { t, translate, toggleLocale, onLocaleChange } from "./i18n.js";
import * as api from "./api.js";
import { AgentSocket } from "./socket.js";
import { Store, roomTitle } from "./model.js";
import { Inbox } from "./inbox.js";
import { ConversationView } from "./conversation.js";
import { CannedPicker } from "./canned_picker.js";
import { SearchPanel, revealMessage } from "./search_panel.js";
import { Workgroups, InboxFilters, LabelBar, setRoomLabels } from "./workgroups.js";
import { TransferForm } from "./transfer_form.js";
import { TranscriptButton } from "./transcript_button.js";
import { SnoozeForm } from "./snooze_form.js";
import * as notify from "./notify.js";
import { readBoot, fillIdentity, showToast, errorText, setNavUnread, wireSkipLinks } from "./shell.js";
import { CustomerSidebar } from "./customer_sidebar.js";
import { PublicRooms } from "./rooms.js";

// Send typing:true at most this often while the agent keeps typing...
const TYPING_REFRESH_MS = 3000;
// ...and typing:false after this much quiet.
const TYPING_IDLE_MS = 4000;
// Phones show the inbox or one conversation (console.css): opening one is a step the
// browser's back button undoes.
const PHONE = window.matchMedia("(max-width: 640px)");

class App {
  constructor(boot) {
    this.store = new Store(boot);
    api.setCsrfToken(boot.csrf_token);
    this.openRoomId = null;
    // Rooms already announced (chime + notification) while waiting in the queue.
    this.notified = new Set();
    // Room summaries being fetched, so a burst of events asks only once.
    this.fetching = new Map();
    this.renderQueued = false;
    this.typingSentAt = 0;
    this.typingRoom = null;
    this.typingTimer = null;

    this.inbox = new Inbox(document.getElementById("inbox"), this.store, {
      onOpen: (id) => this.open(id),
    });
    this.view = new ConversationView(document.getElementById("conversation"), this.store, {
      onSend: (body, kind, link, attachments) => this.send(body, kind, link, attachments),
      onRetry: (cmid) => this.retry(cmid),
      onAssign: (agentId) => this.roomAction("assign", { agent_id: agentId }),
      onResolve: () => this.roomAction("resolve"),
      onReopen: () => this.roomAction("reopen"),
      onTyping: (active) => this.typing(active),
      onError: (code) => this.toast(code),
      onReachBottom: () => this.markRead(),
      onEdit: (id, body) => this.changeMessage("edit", { message_id: id, body }),
      onUnsend: (id) => this.changeMessage("unsend", { message_id: id }),
    });
    // Search at the top of the inbox (search_panel.js).
    this.search = new SearchPanel(document.getElementById("inbox"), {
      onOpen: (roomId, messageId) => this.openFound(roomId, messageId),
    });
    // Email the conversation to its customer (transcript_button.js).
    this.transcript = new TranscriptButton(document.querySelector('[data-testid="conversation-header"]'), {
      roomOf: () => (this.openRoomId ? this.store.rooms.get(this.openRoomId) : null),
      say: (text) => this.toastText(text),
    });
    // Teams and labels (workgroups.js): the inbox's filters, the open conversation's labels.
    this.groups = new Workgroups();
    this.filters = new InboxFilters(document.getElementById("inbox"), this.groups, () => this.inbox.render());
    this.inbox.filter = (room) => this.filters.matches(room);
    const openRoom = () => (this.openRoomId ? this.store.rooms.get(this.openRoomId) : null);
    this.labelBar = new LabelBar(document.querySelector('[data-testid="conversation-header"]'), this.groups, {
      roomOf: openRoom,
      save: setRoomLabels,
      onError: (code) => this.toast(code),
    });
    // Hand the conversation over with a note (transfer_form.js): to a colleague or a team.
    this.transfer = new TransferForm(document.querySelector('[data-testid="conversation-header"]'), this.store, {
      send: (to, note) =>
        this.roomAction("transfer", to.startsWith("team:") ? { team_id: to.slice(5), note } : { agent_id: to, note }),
      roomOf: openRoom,
      teams: () => this.groups.teams,
    });
    // Put the conversation aside until a time or the shopper's next message (snooze_form.js).
    this.snoozer = new SnoozeForm(document.querySelector('[data-testid="conversation-header"]'), {
      send: (type, extra) => this.roomAction(type, extra),
      roomOf: () => (this.openRoomId ? this.store.rooms.get(this.openRoomId) : null),
    });
    // "/" in the reply box: the agent's canned responses (canned_picker.js).
    this.canned = new CannedPicker(this.view.input, this.view.form, () => this.view.roomId, api.cannedResponses);
    // The customer record beside the conversation (customer_sidebar.js).
    this.customer = new CustomerSidebar(document.getElementById("customer-sidebar"), {
      app: document.querySelector(".app"),
      toggle: document.querySelector('[data-testid="customer-toggle"]'),
      // As an event would bring it: this agent's unread counts stay untouched.
      onRoomChanged: (room) => this.store.rooms.has(room.id) && this.onRoom(room),
    });
    this.socket = new AgentSocket({
      url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/agent`,
      onEvent: (frame) => this.onEvent(frame),
      onWelcome: (frame) => this.onWelcome(frame),
      onState: (state, delay) => this.onConnState(state, delay),
      onAuthLost: (code) => this.toLogin(code),
    });
    // The site's public rooms (rooms.js): their inbox section and their view.
    this.rooms = new PublicRooms(this);
  }

  start() {
    this.setupSidebar();
    wireSkipLinks();
    this.inbox.render();
    this.view.render();
    onLocaleChange(() => {
      this.inbox.rerender();
      this.view.rerender();
      this.customer.rerender();
      this.rooms.rerender();
      this.filters.fill();
      this.renderConn();
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.markRead();
    });
    window.addEventListener("hashchange", () => this.openFromHash({ closeWithout: true }));
    for (const btn of document.querySelectorAll(".conv-back")) btn.addEventListener("click", () => this.back());
    document.addEventListener("keydown", (e) => this.onShortcut(e));
    // Audio may only start after a gesture; any click or key counts.
    const unlock = () => notify.unlockAudio();
    document.addEventListener("pointerdown", unlock, { once: true, capture: true });
    document.addEventListener("keydown", unlock, { once: true, capture: true });
    setInterval(() => {
      if (this.store.expireTyping()) this.scheduleRender();
    }, 2000);
    this.socket.connect();
    this.groups.load();
    // The room list normally comes right after the welcome; if the socket
    // cannot connect, show the inbox over HTTP anyway.
    setTimeout(() => {
      if (!this.store.roomsLoaded) this.loadRooms();
    }, 3000);
  }

  // ---- sidebar ---------------------------------------------------------

  setupSidebar() {
    fillIdentity({ site: this.store.site, agent: this.store.me });

    const status = document.querySelector('[data-testid="status-select"]');
    status.value = this.store.me.status === "away" ? "away" : "online";
    status.addEventListener("change", () => {
      this.socket
        .request("status", { status: status.value })
        .then(() => {
          this.store.me.status = status.value;
        })
        .catch((err) => {
          status.value = this.store.me.status === "away" ? "away" : "online";
          this.toast(err.code);
        });
    });

    document.querySelector('[data-testid="logout-btn"]').addEventListener("click", () => this.logout());
    document.getElementById("locale-toggle").addEventListener("click", () => toggleLocale());

    const notifBtn = document.getElementById("notify-btn");
    const notifDenied = document.getElementById("notify-denied");
    const refresh = () => {
      const p = notify.permission();
      notifBtn.hidden = !notify.notificationsSupported() || p !== "default";
      notifDenied.hidden = !notify.notificationsSupported() || p !== "denied";
    };
    notifBtn.addEventListener("click", async () => {
      await notify.requestPermission();
      refresh();
    });
    refresh();
  }

  onConnState(state, delay) {
    this.connState = state;
    clearInterval(this.connTimer);
    if (state === "retrying") {
      this.retryAt = Date.now() + delay;
      this.connTimer = setInterval(() => this.renderConn(), 1000);
    }
    if (state !== "online") this.store.markAllStale();
    this.renderConn();
  }

  renderConn() {
    const el = document.querySelector('[data-testid="conn-status"]');
    const state = this.connState || "connecting";
    const shown = state === "retrying" ? "offline" : state;
    el.dataset.state = shown;
    const label = el.querySelector(".conn__label");
    if (state === "retrying") {
      const s = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
      label.textContent = s > 0 ? t("conn.retry", { s }) : t("conn.connecting");
    } else {
      label.textContent = t(`conn.${shown}`);
    }
  }

  // ---- data loading ----------------------------------------------------

  async loadRooms() {
    let list;
    try {
      list = await api.listRooms();
    } catch (err) {
      if (err.status !== 401) this.toast(err.code);
      return;
    }
    const firstLoad = !this.store.roomsLoaded;
    const added = this.store.replaceRooms(list);
    for (const room of this.store.rooms.values()) {
      if (firstLoad) {
        // What was already waiting at page load is not "new"; don't ring for it.
        if (room.status === "queued") this.notified.add(room.id);
      }
    }
    if (!firstLoad) for (const room of added) this.maybeAnnounce(room, undefined);
    if (this.openRoomId && !this.store.rooms.has(this.openRoomId)) this.open(null);
    if (firstLoad) this.openFromHash();
    this.scheduleRender();
  }

  // Loads the open conversation's history the first time, or catches up a
  // cached one that may have missed events while the socket was down.
  async loadConversation(roomId) {
    const conv = this.store.conv(roomId);
    if (conv.loaded && !conv.stale) {
      this.view.setLoadState("ready");
      this.markRead();
      return;
    }
    if (conv.loading) return conv.loading;
    this.view.setLoadState(conv.loaded ? "ready" : "loading");
    conv.loading = (async () => {
      try {
        if (!conv.loaded) {
          // Read before the messages: they are at least this recent.
          conv.rev = this.store.rooms.get(roomId)?.last_rev || 0;
          const messages = await api.roomMessages(roomId, 0);
          for (const m of messages) this.store.applyMessage(m);
          conv.loaded = true;
        } else {
          await this.catchUp(roomId);
        }
        conv.stale = false;
        if (this.openRoomId === roomId) this.view.setLoadState("ready");
        this.markRead();
      } catch (err) {
        if (this.openRoomId === roomId) this.view.setLoadState(conv.loaded ? "ready" : "failed");
        if (err.status !== 401) this.toast(err.code);
      } finally {
        conv.loading = null;
        this.scheduleRender();
      }
    })();
    return conv.loading;
  }

  // Everything after a seq (by default the last one we hold), over the socket
  // when it is up.
  async catchUp(roomId, afterSeq) {
    const conv = this.store.conv(roomId);
    let after = afterSeq ?? conv.lastSeq;
    if (!this.socket.ready) {
      const messages = await api.roomMessages(roomId, after);
      for (const m of messages) this.store.applyMessage(m);
      return;
    }
    for (;;) {
      const ack = await this.socket.request("sync", {
        room_id: roomId,
        after_seq: after,
        limit: 200,
        since_rev: conv.rev,
      });
      const messages = ack.messages || [];
      for (const m of messages) this.store.applyMessage(m);
      // Edited or unsent while we were away (their `message_update` never reached us).
      for (const m of ack.updates || []) this.store.updateMessage(m);
      if (typeof ack.rev === "number") conv.rev = ack.rev;
      if (!ack.has_more || !(messages.length || ack.updates?.length)) break;
      if (messages.length) after = messages[messages.length - 1].seq;
    }
    this.scheduleRender();
  }

  // ---- socket events ---------------------------------------------------

  async onWelcome(frame) {
    if (frame.agent) Object.assign(this.store.me, frame.agent);
    // Nothing said while we were away may be lost: fresh room list, then the
    // open conversation from its last seq, then our unacked sends again.
    await this.loadRooms();
    this.rooms.onWelcome().catch(() => {});
    for (const conv of this.store.convs.values()) conv.readSent = 0;
    if (this.openRoomId) {
      this.loadExtras(this.openRoomId);
      try {
        const conv = this.store.conv(this.openRoomId);
        if (conv.loaded) {
          await this.catchUp(this.openRoomId);
          conv.stale = false;
        } else {
          await this.loadConversation(this.openRoomId);
        }
      } catch (err) {
        this.toast(err.code);
      }
      this.markRead();
    }
    for (const conv of this.store.convs.values()) {
      for (const p of conv.pending.values()) if (p.state === "sending") this.deliver(conv.roomId, p);
    }
    this.scheduleRender();
  }

  onEvent(frame) {
    if (this.rooms.onEvent(frame)) return;
    switch (frame.type) {
      case "message":
        this.onMessage(frame.message);
        break;
      case "room":
        this.onRoom(frame.room);
        break;
      case "message_update":
        // Its sender edited or unsent it (docs/protocol.md, "Unsend and edit").
        if (this.store.updateMessage(frame.message)) this.scheduleRender();
        break;
      case "typing":
        if (!frame.author || frame.author.id === this.store.me.id) break;
        this.store.setTyping(frame.room_id, frame.author, frame.active);
        this.scheduleRender();
        break;
      case "read":
        this.onRead(frame);
        break;
      case "presence":
        this.onPresence(frame);
        break;
      case "transfer":
        // A colleague handed this agent a conversation (docs/protocol.md, "Transfer").
        this.toastText(TransferForm.text(frame));
        break;
      case "activity":
        // A shopper's FAQ card, click or rating (docs/protocol.md, "Transcript").
        if (this.store.addActivity(frame.room_id, frame.item) && frame.room_id === this.view.roomId) {
          this.scheduleRender();
        }
        break;
      case "suggestions":
        // FAQ answers for a customer's message (docs/protocol.md, "## FAQ").
        this.store.setSuggestions(frame);
        if (frame.room_id === this.view.roomId) this.scheduleRender();
        break;
      case "error":
        // An error without ref answers a fire-and-forget frame (read, typing).
        if (frame.code && frame.code !== "rate_limited") console.warn("sapa:", frame.code, frame.message);
        break;
      default:
        break;
    }
  }

  onMessage(msg) {
    if (!msg || !msg.room_id) return;
    const { room, fresh, gapFrom } = this.store.applyMessage(msg);
    if (!room) {
      // A room we never heard of: fetch its summary so it shows up at once.
      this.fetchRoom(msg.room_id);
      return;
    }
    if (gapFrom !== null) {
      // A seq was skipped (a dropped frame): fetch the hole now if the agent is
      // looking, else forget the cached history and load it whole on open.
      if (msg.room_id === this.openRoomId) this.catchUp(msg.room_id, gapFrom).catch(() => {});
      else if (!this.store.convs.get(msg.room_id)?.pending.size) this.store.convs.delete(msg.room_id);
    }
    if (fresh && msg.author.kind === "customer" && msg.kind === "text") {
      if (room.status === "queued") {
        this.maybeAnnounce(room, msg);
      } else if (room.assignee?.id === this.store.me.id && !this.isWatching(room.id)) {
        // The agent's own customer wrote while the agent looks elsewhere.
        notify.chime();
      }
    }
    if (msg.room_id === this.openRoomId) this.markRead();
    this.customer.noteMessage(msg);
    this.scheduleRender();
  }

  onRoom(incoming) {
    if (!incoming || incoming.kind === "public") return;
    const { prev, room } = this.store.upsertRoom(incoming, { snapshot: false });
    if (!prev) {
      // Events normally carry the summary; fetch it when they do not.
      if (!room.customer) this.fetchRoom(room.id);
      this.maybeAnnounce(room);
      this.scheduleRender();
      return;
    }
    if (prev && prev.status !== "queued" && room.status === "queued" && prev.status !== "resolved") {
      // Unassigned by an agent: not a new conversation, but no longer announced either.
      this.notified.add(room.id);
    } else if (prev && prev.status === "queued" && room.status !== "queued") {
      this.notified.delete(room.id);
    }
    this.maybeAnnounce(room, undefined, prev);
    this.scheduleRender();
  }

  onRead(frame) {
    const reader = frame.reader || {};
    if (reader.kind === "customer") {
      const prev = this.store.customerRead.get(frame.room_id) || 0;
      if (frame.seq > prev) this.store.customerRead.set(frame.room_id, frame.seq);
    } else if (reader.kind === "agent" && reader.id === this.store.me.id) {
      // Read in another tab or window of the same agent.
      const room = this.store.rooms.get(frame.room_id);
      if (room && frame.seq >= (room.last_seq || 0)) room.unread = 0;
    }
    this.scheduleRender();
  }

  onPresence(frame) {
    for (const a of frame.agents || []) {
      const known = this.store.agents.get(a.id);
      if (known) Object.assign(known, a);
      else this.store.agents.set(a.id, { ...a });
      if (a.id === this.store.me.id && a.status) {
        this.store.me.status = a.status;
        const sel = document.querySelector('[data-testid="status-select"]');
        if (a.status === "online" || a.status === "away") sel.value = a.status;
      }
    }
    this.scheduleRender();
  }

  fetchRoom(roomId) {
    if (this.fetching.has(roomId)) return;
    const p = api
      .getRoom(roomId)
      .then((room) => {
        const { prev, room: merged } = this.store.upsertRoom(room, { snapshot: true });
        if (merged) this.maybeAnnounce(merged, undefined, prev);
        this.scheduleRender();
      })
      .catch(() => {})
      .finally(() => this.fetching.delete(roomId));
    this.fetching.set(roomId, p);
  }

  // A conversation is new to the agent when it first shows up waiting in the
  // queue, or when a customer comes back to a resolved one. Ring once for it.
  maybeAnnounce(room, msg, prev) {
    if (!room || room.status !== "queued" || this.notified.has(room.id)) return;
    if (!this.store.roomsLoaded) return;
    if (prev && prev.status === "assigned") return;
    this.notified.add(room.id);
    const body = msg?.body || room.last_message?.body || "";
    notify.chime();
    notify.desktopNotify({
      title: `${t("notify.newTitle")} · ${roomTitle(room)}`,
      body: body.slice(0, 140),
      tag: `sapa-room-${room.id}`,
      onClick: () => {
        this.inbox.selectTab("unassigned");
        this.open(room.id);
      },
    });
  }

  // ---- agent actions ---------------------------------------------------

  open(roomId) {
    if (roomId && this.rooms.has(roomId)) {
      this.openPublic(roomId);
      return;
    }
    if (roomId && !this.store.rooms.has(roomId)) return;
    if (this.rooms.openId) {
      this.typing(false);
      this.rooms.close();
    }
    if (this.openRoomId !== roomId) this.typing(false);
    this.openRoomId = roomId;
    this.setHash(roomId);
    this.markOpen(Boolean(roomId));
    this.inbox.setOpen(roomId);
    this.view.show(roomId);
    this.customer.show(roomId ? this.store.rooms.get(roomId) : null);
    if (roomId) {
      this.loadConversation(roomId);
      this.loadExtras(roomId);
      this.view.focusInput();
    }
  }

  // A search result: its conversation (fetched when the inbox does not hold it, an old
  // one for instance), scrolled to the message found.
  async openFound(roomId, messageId) {
    if (!this.store.rooms.has(roomId)) {
      try {
        this.onRoom(await api.getRoom(roomId));
      } catch (err) {
        if (err.status !== 401) this.toast(err.code);
        return;
      }
    }
    this.open(roomId);
    if (messageId) revealMessage(messageId);
  }

  // What live events would have brought had the console been open: the FAQ
  // suggestions for the latest customer message, and the shopper's FAQ cards
  // and ratings for the transcript.
  async loadExtras(roomId) {
    try {
      const [found, activity] = await Promise.all([api.roomSuggestions(roomId), api.roomActivity(roomId)]);
      this.store.offerSuggestions(found);
      for (const item of activity) this.store.addActivity(roomId, item);
      if (this.openRoomId === roomId) this.scheduleRender();
    } catch (err) {
      if (err.status && err.status !== 401 && err.status !== 404) this.toast(err.code);
    }
  }

  // A public room takes the conversation column (room_view.js draws it).
  openPublic(roomId) {
    if (this.rooms.openId !== roomId) this.typing(false);
    this.openRoomId = null;
    this.setHash(roomId);
    this.markOpen(true);
    this.inbox.setOpen(null);
    this.customer.show(null);
    this.rooms.open(roomId);
    this.scheduleRender();
    this.view.focusInput();
  }

  openFromHash({ closeWithout = false } = {}) {
    const m = /^#room=(.+)$/.exec(location.hash);
    if (m) this.open(decodeURIComponent(m[1]));
    else if (closeWithout && !location.hash && (this.openRoomId || this.rooms.openId)) this.open(null);
  }

  // On a phone, going from the inbox into a conversation adds a history entry, so the
  // browser's back returns to the inbox; everywhere else the address just follows.
  setHash(roomId) {
    const hash = roomId ? `#room=${encodeURIComponent(roomId)}` : "";
    if (location.hash === hash) return;
    const url = `${location.pathname}${location.search}${hash}`;
    if (roomId && !location.hash && PHONE.matches) history.pushState({ sapaStep: true }, "", url);
    else history.replaceState(null, "", url);
  }

  markOpen(open) {
    document.getElementById("app").classList.toggle("app--open", open);
  }

  // The conversation header's back button (phones): to the inbox, focus on its list.
  back() {
    const stepped = Boolean(history.state?.sapaStep);
    this.open(null);
    // Drop the step too, so the browser's back does not reopen the conversation.
    if (stepped) history.back();
    document.getElementById("inbox-list").focus();
  }

  // `link` is the FAQ suggestion the reply came from: {faq_id, for_message_id}.
  send(body, kind, link, attachments = []) {
    if (this.rooms.openId) {
      this.rooms.send(body, link, attachments);
      return;
    }
    const roomId = this.openRoomId;
    if (!roomId) return;
    const conv = this.store.conv(roomId);
    const me = this.store.me;
    const p = {
      client_msg_id: uuid(),
      room_id: roomId,
      kind,
      body,
      author: { kind: "agent", id: me.id, name: me.name },
      created_at: new Date().toISOString(),
      state: "sending",
    };
    if (attachments.length) p.attachment_ids = attachments;
    if (link?.faq_id) {
      p.faq_id = link.faq_id;
      if (link.for_message_id) p.for_message_id = link.for_message_id;
    }
    conv.addPending(p);
    this.scheduleRender();
    this.deliver(roomId, p);
  }

  deliver(roomId, p) {
    if (p.inFlight) return;
    p.inFlight = true;
    p.state = "sending";
    this.socket
      .request("send", sendFrame(roomId, p))
      .then((ack) => {
        p.inFlight = false;
        if (ack.message) this.onMessage(ack.message);
      })
      .catch((err) => {
        p.inFlight = false;
        // Lost connection: stays "sending" and goes again after the next
        // welcome (same client_msg_id, so never stored twice). Refused: say so.
        if (!err.retryable) {
          p.state = "failed";
          this.toast(err.code);
        } else if (err.code === "timeout" && this.socket.ready) {
          this.deliver(roomId, p);
        }
        this.scheduleRender();
      });
  }

  // Edit or unsend one of this agent's own messages; a refusal is said in a toast.
  async changeMessage(type, fields) {
    try {
      const ack = await this.socket.request(type, fields);
      if (this.store.updateMessage(ack.message)) this.scheduleRender();
      return true;
    } catch (err) {
      this.toast(err.code);
      return false;
    }
  }

  retry(cmid) {
    const conv = this.store.convs.get(this.openRoomId);
    const p = conv?.pending.get(cmid);
    if (!p) return;
    p.state = "sending";
    this.scheduleRender();
    this.deliver(conv.roomId, p);
  }

  async roomAction(type, extra = {}) {
    const roomId = this.openRoomId;
    if (!roomId) return;
    try {
      const ack = await this.socket.request(type, { room_id: roomId, ...extra });
      if (ack.room) this.onRoom(ack.room);
    } catch (err) {
      this.toast(err.code);
      // The assign select may show a choice that did not happen.
      this.scheduleRender();
    }
  }

  typing(active) {
    const roomId = this.openRoomId || this.rooms.openId;
    clearTimeout(this.typingTimer);
    if (!active) {
      if (this.typingRoom) this.socket.notify("typing", { room_id: this.typingRoom, active: false });
      this.typingRoom = null;
      this.typingSentAt = 0;
      return;
    }
    if (!roomId) return;
    const now = Date.now();
    if (this.typingRoom !== roomId || now - this.typingSentAt > TYPING_REFRESH_MS) {
      if (this.socket.notify("typing", { room_id: roomId, active: true })) {
        this.typingRoom = roomId;
        this.typingSentAt = now;
      }
    }
    this.typingTimer = setTimeout(() => this.typing(false), TYPING_IDLE_MS);
  }

  isWatching(roomId) {
    return roomId === this.openRoomId && document.visibilityState === "visible";
  }

  // Tells the server the agent has seen the open conversation up to its last
  // message, which clears the unread badge here and in the agent's other tabs.
  markRead() {
    if (this.rooms.openId) {
      this.rooms.markRead();
      return;
    }
    const roomId = this.openRoomId;
    if (!roomId || !this.isWatching(roomId)) return;
    const room = this.store.rooms.get(roomId);
    const conv = this.store.convs.get(roomId);
    if (!room || !conv || !conv.loaded) return;
    const seq = Math.max(conv.lastSeq, 0);
    if (room.unread) {
      room.unread = 0;
      this.scheduleRender();
    }
    if (seq > conv.readSent && this.socket.notify("read", { room_id: roomId, seq })) {
      conv.readSent = seq;
    }
  }

  async logout() {
    // Stop first: the server closes our sockets (4000) as the session ends.
    this.socket.stop();
    try {
      await api.logout();
    } catch {
      // The session may be gone already; the login page is the right place either way.
    }
    this.toLogin();
  }

  // A session ended by the server (logout elsewhere, deactivation, a new password) says so.
  toLogin(code) {
    location.assign(code === 4000 ? `${api.LOGIN_URL}?ended=1` : api.LOGIN_URL);
  }

  onShortcut(e) {
    if (e.altKey && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      this.inbox.step(e.key === "ArrowDown" ? 1 : -1);
    } else if (e.key === "Escape" && document.activeElement?.tagName === "TEXTAREA") {
      document.activeElement.blur();
    }
  }

  toast(code) {
    showToast(errorText(code));
  }

  toastText(text) {
    showToast(text);
  }

  // Many events can arrive in one burst (a resync); paint once for all of them.
  scheduleRender() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    setTimeout(() => {
      this.renderQueued = false;
      this.inbox.render();
      this.rooms.renderList();
      this.view.render();
      this.labelBar.render(this.store.rooms.get(this.openRoomId));
      this.snoozer.render(this.store.rooms.get(this.openRoomId));
      this.customer.sync(this.store.rooms.get(this.openRoomId));
      const unread = this.store.totalUnread();
      notify.setTitleCount(unread, t("app.title"));
      setNavUnread(unread);
    }, 0);
  }
}

// crypto.randomUUID exists only in secure contexts; a console served over plain
// http on a LAN address still needs unique client_msg_ids.
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function sendFrame(roomId, p) {
  const frame = { room_id: roomId, client_msg_id: p.client_msg_id, body: p.body, kind: p.kind };
  if (p.attachment_ids) frame.attachments = p.attachment_ids;
  if (p.faq_id) {
    frame.faq_id = p.faq_id;
    if (p.for_message_id) frame.for_message_id = p.for_message_id;
  }
  return frame;
}

const boot = readBoot();
translate(document);
if (!boot || !boot.agent) {
  location.assign(api.LOGIN_URL);
} else {
  const app = new App(boot);
  app.start();
  // Handy when debugging from the devtools console; nothing depends on it.
  window.sapaConsole = app;
}
