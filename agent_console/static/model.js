// The console's client-side state: the site's private rooms and the message
// history of the conversations the agent has opened. Views read it; only the
// wiring in console.js writes it, so every change has one place to come from.

import { t } from "./i18n.js";

// How many conversations keep their history in memory for instant switching.
const CONV_CACHE_SIZE = 30;

export const TABS = ["unassigned", "mine", "all", "resolved", "snoozed"];

export function inTab(tab, room, meId) {
  // A snoozed conversation waits in its own tab until it wakes.
  if (tab === "snoozed") return Boolean(room.snoozed);
  if (room.snoozed) return false;
  switch (tab) {
    case "unassigned":
      return room.status === "queued";
    case "mine":
      return room.status !== "resolved" && room.assignee?.id === meId;
    case "all":
      return room.status !== "resolved";
    case "resolved":
      return room.status === "resolved";
    default:
      return false;
  }
}

export function activityTime(room) {
  const a = Date.parse(room.updated_at || room.created_at || "") || 0;
  const b = Date.parse(room.last_message?.created_at || "") || 0;
  return Math.max(a, b);
}

export function shortId(id) {
  return String(id || "").slice(-4);
}

// A customer's name, or "Visitor 1a2B" for one who never gave a name (the
// server marks them `anonymous` with the short `label_id`).
export function roomTitle(room) {
  const customerId = room.customer_id || room.customer?.id || room.id;
  const c = room.customer;
  const name = (c && !c.anonymous ? customerName(c.name, customerId) : "") || room.name;
  if (name) return name;
  return `${t("visitor")} ${c?.label_id || shortId(customerId)}`;
}

// A CRM record's name: empty when the customer gave none. (Rooms and authors
// say so with `anonymous`; a stored placeholder from an older server counts too.)
export function customerName(name, customerId) {
  if (!name) return "";
  if (customerId && name === `Pengunjung ${shortId(customerId)}`) return "";
  return name;
}

// One conversation's history: confirmed messages keyed by seq, and this
// agent's own sends waiting for their ack, keyed by client_msg_id.
export class Conversation {
  constructor(roomId) {
    this.roomId = roomId;
    this.bySeq = new Map();
    this.ids = new Set();
    this.pending = new Map();
    this.lastSeq = 0;
    // The room's rev as of what we hold: a sync sends it back and gets the messages edited
    // or unsent since (docs/protocol.md "Unsend and edit").
    this.rev = 0;
    this.loaded = false;
    this.loading = null;
    // True when events may have been missed (after a disconnect) and a sync is due.
    this.stale = false;
    this.readSent = 0;
    // What the shopper was shown or did beside messages (FAQ cards, their
    // clicks, ratings), by id: drawn in the transcript by time.
    this.activity = new Map();
  }

  addActivity(item) {
    if (!item || !item.id || this.activity.has(item.id)) return false;
    this.activity.set(item.id, item);
    return true;
  }

  // Adds a confirmed message; returns false when it was already there.
  add(msg) {
    if (msg.client_msg_id) this.pending.delete(msg.client_msg_id);
    if (this.ids.has(msg.id) || this.bySeq.has(msg.seq)) return false;
    this.ids.add(msg.id);
    this.bySeq.set(msg.seq, msg);
    if (msg.seq > this.lastSeq) this.lastSeq = msg.seq;
    return true;
  }

  // An edited or unsent message (`message_update`) replaces the copy we hold.
  replace(msg) {
    if (!this.ids.has(msg.id)) return false;
    this.bySeq.set(msg.seq, msg);
    return true;
  }

  addPending(p) {
    this.pending.set(p.client_msg_id, p);
  }

  ordered() {
    const confirmed = [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
    return mergeByTime(confirmed, this.activity).concat([...this.pending.values()]);
  }
}

// Activity items go after every message stored no later than they happened.
function mergeByTime(messages, activity) {
  if (!activity.size) return messages;
  const extra = [...activity.values()]
    .map((item) => ({ kind: "activity", id: item.id, created_at: item.at, item }))
    .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
  const out = [];
  let j = 0;
  for (const m of messages) {
    while (j < extra.length && extra[j].created_at < m.created_at) out.push(extra[j++]);
    out.push(m);
  }
  return out.concat(extra.slice(j));
}

export class Store {
  constructor(boot) {
    this.me = boot.agent;
    this.site = boot.site;
    this.agents = new Map((boot.agents || []).map((a) => [a.id, { ...a }]));
    if (!this.agents.has(this.me.id)) this.agents.set(this.me.id, { ...this.me });
    this.rooms = new Map();
    this.convs = new Map();
    // roomId -> Map(authorKey -> {author, expires})
    this.typing = new Map();
    // roomId -> highest seq the customer has read, for the "Seen" mark.
    this.customerRead = new Map();
    this.roomsLoaded = false;
    // roomId -> messages that arrived before their room did.
    this.orphans = new Map();
    // roomId -> the latest `suggestions` event: {for_message_id, items}.
    this.suggestions = new Map();
  }

  // Suggestions loaded when the agent opens a room: a live event that came
  // meanwhile is about the same or a newer message, and wins.
  offerSuggestions(found) {
    if (!found || !found.room_id || this.suggestions.has(found.room_id)) return false;
    this.setSuggestions(found);
    return true;
  }

  addActivity(roomId, item) {
    const conv = this.convs.get(roomId);
    return conv ? conv.addActivity(item) : false;
  }

  setSuggestions(frame) {
    if (!frame || !frame.room_id) return;
    // Newest last; a long day's worth of rooms need not all stay.
    this.suggestions.delete(frame.room_id);
    if (this.suggestions.size >= 500) this.suggestions.delete(this.suggestions.keys().next().value);
    this.suggestions.set(frame.room_id, {
      for_message_id: frame.for_message_id || null,
      items: Array.isArray(frame.items) ? frame.items : [],
    });
  }

  // The FAQ suggestions for the room's latest customer message, or null when
  // there are none or a newer customer message made them stale.
  suggestionsFor(roomId) {
    const s = this.suggestions.get(roomId);
    if (!s || !s.items.length) return null;
    const conv = this.convs.get(roomId);
    if (conv && s.for_message_id) {
      let forSeq = null;
      let latestCustomerSeq = 0;
      for (const m of conv.bySeq.values()) {
        if (m.id === s.for_message_id) forSeq = m.seq;
        if (m.author?.kind === "customer" && m.kind === "text" && m.seq > latestCustomerSeq) {
          latestCustomerSeq = m.seq;
        }
      }
      if (forSeq !== null && latestCustomerSeq > forSeq) return null;
    }
    return s;
  }

  // Merges a room into the store; returns the previous copy (undefined for a
  // room never seen before). A snapshot (REST) carries this agent's unread
  // count and the last message consistently with its last_seq; an event (or an
  // ack) is broadcast to every agent, so its counters are not ours and the
  // message events that follow it still have to count.
  upsertRoom(incoming, { snapshot }) {
    if (!incoming || incoming.kind === "public") return { prev: undefined, room: null };
    const prev = this.rooms.get(incoming.id);
    if (!prev) return { prev: undefined, room: this.addRoom(incoming, snapshot) };
    const before = { ...prev };
    const room = Object.assign(prev, stripUndefined(incoming));
    // Every room object names its team while it has one; `labels` come only with a label
    // change or a list, so a room event without them keeps ours.
    if (!("team" in incoming)) delete room.team;
    const lagging = (incoming.last_seq ?? 0) < before.last_seq;
    if (!snapshot || lagging) {
      room.unread = before.unread;
      room.last_seq = before.last_seq;
      room.last_message = before.last_message;
      if (!snapshot) room.updated_at = later(before.updated_at, incoming.updated_at);
    }
    return { prev: before, room };
  }

  // A room seen for the first time. Without an unread count from the server
  // (events and GET /rooms/{id} carry none), count what we saw arrive for it;
  // after an event, the message events still to come count as well.
  addRoom(incoming, snapshot) {
    const orphans = this.orphans.get(incoming.id) || [];
    this.orphans.delete(incoming.id);
    const room = { unread: 0, ...incoming };
    this.rooms.set(room.id, room);
    if (incoming.unread !== undefined) return room;
    room.last_seq = 0;
    for (const m of orphans) this.applyMessage(m);
    if (snapshot && (incoming.last_seq ?? 0) >= room.last_seq) {
      room.last_seq = incoming.last_seq ?? 0;
      room.last_message = incoming.last_message ?? room.last_message;
    }
    return room;
  }

  // A fresh room list (after a (re)connect) replaces ours, keeping what is newer locally.
  replaceRooms(list) {
    const seen = new Set();
    const added = [];
    for (const r of list) {
      if (r.kind === "public") continue;
      seen.add(r.id);
      const { prev, room } = this.upsertRoom(r, { snapshot: true });
      if (!prev) added.push(room);
    }
    for (const id of [...this.rooms.keys()]) if (!seen.has(id)) this.rooms.delete(id);
    this.orphans.clear();
    this.roomsLoaded = true;
    return added;
  }

  // Applies a live or synced message to the room summary and any cached history.
  // Returns {room, fresh, gapFrom}: fresh when the room had not counted it yet.
  updateMessage(msg) {
    const conv = msg && this.convs.get(msg.room_id);
    return conv ? conv.replace(msg) : false;
  }

  applyMessage(msg) {
    const room = this.rooms.get(msg.room_id);
    const conv = this.convs.get(msg.room_id);
    let gapFrom = null;
    if (conv && conv.loaded && msg.seq > conv.lastSeq + 1) gapFrom = conv.lastSeq;
    if (conv) conv.add(msg);
    if (!room) {
      // Its room is being fetched; keep the message so the room's counts include it.
      const list = this.orphans.get(msg.room_id) || [];
      if (list.length < 50 && !list.some((m) => m.id === msg.id)) list.push(msg);
      this.orphans.set(msg.room_id, list);
      return { room: null, fresh: false, gapFrom };
    }
    const fresh = msg.seq > (room.last_seq ?? 0);
    if (fresh) {
      room.last_seq = msg.seq;
      room.updated_at = msg.created_at;
      if (msg.kind !== "event") {
        room.last_message = {
          body: msg.body,
          kind: msg.kind,
          author_kind: msg.author.kind,
          created_at: msg.created_at,
        };
      }
      if (msg.author.kind === "customer" && msg.kind === "text") room.unread = (room.unread || 0) + 1;
    }
    if (msg.author.kind === "customer") this.clearTyping(msg.room_id, authorKey(msg.author));
    return { room, fresh, gapFrom };
  }

  conv(roomId) {
    let conv = this.convs.get(roomId);
    if (conv) {
      // Re-insert to mark it most recently used.
      this.convs.delete(roomId);
    } else {
      conv = new Conversation(roomId);
    }
    this.convs.set(roomId, conv);
    while (this.convs.size > CONV_CACHE_SIZE) {
      const oldest = this.convs.keys().next().value;
      const c = this.convs.get(oldest);
      if (c.pending.size) break;
      this.convs.delete(oldest);
    }
    return conv;
  }

  markAllStale() {
    for (const c of this.convs.values()) if (c.loaded) c.stale = true;
  }

  setTyping(roomId, author, active) {
    const key = authorKey(author);
    let m = this.typing.get(roomId);
    if (!active) {
      this.clearTyping(roomId, key);
      return;
    }
    if (!m) {
      m = new Map();
      this.typing.set(roomId, m);
    }
    // A client that vanished mid-typing never sends active:false; expire it.
    m.set(key, { author, expires: Date.now() + 8000 });
  }

  clearTyping(roomId, key) {
    const m = this.typing.get(roomId);
    if (!m) return;
    m.delete(key);
    if (!m.size) this.typing.delete(roomId);
  }

  typers(roomId) {
    const m = this.typing.get(roomId);
    if (!m) return [];
    const now = Date.now();
    for (const [k, v] of m) if (v.expires < now) m.delete(k);
    return [...m.values()].map((v) => v.author).filter((a) => a.id !== this.me.id);
  }

  expireTyping() {
    let changed = false;
    const now = Date.now();
    for (const [roomId, m] of this.typing) {
      for (const [k, v] of m) {
        if (v.expires < now) {
          m.delete(k);
          changed = true;
        }
      }
      if (!m.size) this.typing.delete(roomId);
    }
    return changed;
  }

  totalUnread() {
    let n = 0;
    for (const r of this.rooms.values()) n += r.unread || 0;
    return n;
  }

  agentName(id) {
    return this.agents.get(id)?.name || "";
  }
}

function authorKey(author) {
  return `${author?.kind}:${author?.id}`;
}

function later(a, b) {
  return (Date.parse(b || "") || 0) > (Date.parse(a || "") || 0) ? b : a;
}

function stripUndefined(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out;
}
