// The customer beside the open conversation: the record panels for the room's
// customer, loaded when the agent opens a room and again whenever the room's
// customer changes (a visitor who logs in on the shop becomes a known customer)
// or the agent edits something. A right-hand column on wide screens, a drawer
// on narrow ones; either can be folded away.

import { t } from "./i18n.js";
import { setText, setAttr } from "./dom.js";
import { getRoom } from "./api.js";
import { getCustomer } from "./crm.js";
import { CustomerRecord } from "./customer_record.js";

const COLLAPSED_KEY = "sapa.console.customer.collapsed";
// Below this width the sidebar is a drawer over the conversation.
const NARROW = "(max-width: 1200px)";

export class CustomerSidebar {
  // app: the grid element whose classes lay the column out; toggle: the
  // button in the conversation header; onRoomChanged(room): hands the console
  // a room whose customer changed without a `room` event (a merge).
  constructor(root, { app, toggle, onRoomChanged }) {
    this.root = root;
    this.app = app;
    this.toggleBtn = toggle;
    this.onRoomChanged = onRoomChanged;
    this.checking = null;
    this.roomId = null;
    this.customerId = null;
    this.signature = "";
    this.seq = 0;
    this.abort = null;
    this.state = "none";
    this.collapsed = loadFlag(COLLAPSED_KEY);
    this.drawerOpen = false;
    this.narrow = window.matchMedia(NARROW);

    this.statusEl = root.querySelector(".customer-sidebar__status");
    this.retryBtn = root.querySelector('[data-testid="customer-retry"]');
    this.body = root.querySelector(".customer-sidebar__body");
    this.record = new CustomerRecord(this.body, {
      variant: "sidebar",
      reload: () => this.load({ quiet: true }),
    });

    root.querySelector('[data-testid="customer-sidebar-close"]').addEventListener("click", () => this.setOpen(false));
    this.toggleBtn?.addEventListener("click", () => this.setOpen(!this.isOpen()));
    this.retryBtn.addEventListener("click", () => this.load());
    this.narrow.addEventListener("change", () => this.layout());
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.narrow.matches && this.drawerOpen) this.setOpen(false);
    });
    this.layout();
  }

  isOpen() {
    return this.narrow.matches ? this.drawerOpen : !this.collapsed;
  }

  setOpen(open) {
    if (this.narrow.matches) {
      this.drawerOpen = open;
    } else {
      this.collapsed = !open;
      saveFlag(COLLAPSED_KEY, this.collapsed);
    }
    this.layout();
    if (open && this.narrow.matches) this.root.querySelector('[data-testid="customer-sidebar-close"]').focus();
  }

  layout() {
    const has = Boolean(this.roomId);
    const open = has && this.isOpen();
    this.app.classList.toggle("app--customer", has && !this.narrow.matches && open);
    this.app.classList.toggle("app--customer-drawer", has && this.narrow.matches && open);
    this.root.hidden = !open;
    if (this.toggleBtn) {
      // The open panel has its own close button; the header button brings it back.
      this.toggleBtn.hidden = !has || open;
      setAttr(this.toggleBtn, "aria-expanded", String(open));
      setAttr(this.toggleBtn, "aria-pressed", String(open));
    }
  }

  // The agent opened a room (or none).
  show(room) {
    const roomId = room?.id || null;
    if (roomId !== this.roomId) {
      this.roomId = roomId;
      this.drawerOpen = false;
      this.record.setRoom(roomId);
      this.customerId = null;
      this.signature = "";
      // The room list may predate a merge; ask once for the room as it is now.
      if (roomId) this.checkRoom(roomId);
    }
    this.sync(room);
    this.layout();
  }

  // Called on every repaint of the console: loads again only when the room's
  // customer is another one, or their name or email changed.
  sync(room) {
    if (!room || room.id !== this.roomId) {
      if (!room && this.roomId === null) this.setState("none");
      return;
    }
    // The record's list of conversations follows this one live (queued → assigned …).
    this.record.updateRoom(room);
    const customerId = room.customer_id || room.customer?.id || null;
    const signature = `${room.customer?.name || ""}\u0000${room.customer?.email || ""}`;
    if (customerId !== this.customerId) {
      this.customerId = customerId;
      this.signature = signature;
      if (customerId) this.load();
      else this.setState("none");
    } else if (signature !== this.signature) {
      this.signature = signature;
      if (customerId) this.load({ quiet: true });
    }
  }

  // A visitor who logs in on the shop is merged into the known customer; the
  // server announces no room change for that, but their next message carries
  // the known customer's id. Ask for the room again when ids disagree.
  noteMessage(msg) {
    if (!msg || msg.room_id !== this.roomId || msg.author?.kind !== "customer") return;
    if (this.customerId && msg.author.id && msg.author.id !== this.customerId) this.checkRoom(this.roomId);
  }

  // Only the customer is taken from this fetch, and only when it differs: the
  // console's own counters (unread, last seq) stay as its events made them.
  async checkRoom(roomId) {
    if (this.checking === roomId) return;
    this.checking = roomId;
    let room;
    try {
      room = await getRoom(roomId);
    } catch {
      return;
    } finally {
      if (this.checking === roomId) this.checking = null;
    }
    if (roomId !== this.roomId || !room) return;
    const customerId = room.customer_id || room.customer?.id || null;
    if (customerId && customerId !== this.customerId) {
      this.onRoomChanged?.(room);
    }
  }

  async load({ quiet = false } = {}) {
    const id = this.customerId;
    if (!id) return;
    const seq = ++this.seq;
    this.abort?.abort();
    const ctrl = new AbortController();
    this.abort = ctrl;
    const switching = this.record.record?.id !== id;
    if (!quiet || switching) this.setState(switching ? "loading" : "ready");
    try {
      const rec = await getCustomer(id, ctrl.signal);
      if (seq !== this.seq) return;
      this.record.set(rec);
      this.setState("ready");
    } catch (err) {
      if (ctrl.signal.aborted || seq !== this.seq) return;
      if (err.status === 401) return;
      if (!quiet || switching) this.setState(err.status === 404 ? "missing" : "failed");
    }
  }

  setState(state) {
    this.state = state;
    setAttr(this.root, "data-state", state);
    setAttr(this.root, "data-customer-id", state === "ready" ? this.customerId : null);
    setAttr(this.root, "aria-busy", String(state === "loading"));
    const text =
      state === "loading"
        ? t("crm.loading")
        : state === "failed"
          ? t("crm.loadFailed")
          : state === "missing"
            ? t("crm.missing")
            : state === "none"
              ? t("crm.noCustomer")
              : "";
    setText(this.statusEl, text);
    this.statusEl.hidden = !text;
    this.retryBtn.hidden = state !== "failed";
    this.body.hidden = state !== "ready";
  }

  rerender() {
    this.record.rerender();
    this.setState(this.state);
  }
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
