// The open public room, drawn in the conversation column: its header (name,
// pinned message, slow mode, owners' rename/archive/order), its messages with
// the staff's actions, and the "Replying to" bar above the reply box. The reply
// box and the FAQ suggestions stay conversation.js's; rooms.js holds the state.

import { setFiles } from "./attachments.js";
import { t, clockTime, fullTime } from "./i18n.js";
import { h, setText, setAttr, reconcile, resetKeyed } from "./dom.js";
import { confirmed, editable, openEditor } from "./conversation.js";

const STICKY_PX = 80;
// Scrolling this close to the top asks for older messages.
const OLDER_PX = 60;
export const SLOW_MODES = [0, 10, 30, 60, 300];
export const MUTE_MINUTES = [10, 60, 1440, 10080];

export class RoomView {
  constructor(root, ctrl) {
    this.root = root;
    this.ctrl = ctrl;
    this.roomId = null;
    this.stickToBottom = true;
    this.restoreAnchor = null;
    const q = (sel) => root.querySelector(sel);
    this.pane = q("#conv-pane");
    this.scroller = q("#conv-scroll");
    this.list = q("#room-messages");
    this.olderBtn = q("#room-older");
    this.nameEl = q("#room-name");
    this.subEl = q("#room-sub");
    this.archivedPill = q("#room-archived");
    this.slowSelect = q('[data-testid="room-slow-mode"]');
    this.pinnedEl = q('[data-testid="room-pinned"]');
    this.unpinBtn = q('[data-testid="room-unpin-btn"]');
    this.renameBtn = q('[data-testid="room-rename-btn"]');
    this.renameForm = q("#room-rename");
    this.renameInput = q('[data-testid="room-rename-input"]');
    this.archiveBtn = q('[data-testid="room-archive-btn"]');
    this.imagesBox = q('[data-testid="room-visitor-images"]'); // owners only
    this.upBtn = q('[data-testid="room-move-up"]');
    this.downBtn = q('[data-testid="room-move-down"]');
    this.replying = q('[data-testid="room-replying-to"]');

    this.slowSelect.addEventListener("change", () => ctrl.setSlowMode(Number(this.slowSelect.value)));
    this.unpinBtn.addEventListener("click", () => ctrl.pin(null));
    this.imagesBox?.addEventListener("change", () => ctrl.setVisitorImages(this.imagesBox.checked));
    this.pinnedEl.addEventListener("click", (e) => {
      if (e.target.closest("button")) return;
      const id = this.pinnedEl.dataset.messageId;
      const el = id && this.list.querySelector(`[data-message-id="${CSS.escape(id)}"]`);
      if (el) el.scrollIntoView({ block: "center" });
    });
    this.replying
      .querySelector('[data-testid="room-replying-cancel"]')
      .addEventListener("click", () => ctrl.setReply(null));
    this.olderBtn.addEventListener("click", () => ctrl.loadOlder());
    this.scroller.addEventListener("scroll", () => {
      if (!this.roomId) return;
      if (this.scroller.scrollTop < OLDER_PX) ctrl.loadOlder();
      if (this.nearBottom()) ctrl.markRead();
    });
    this.list.addEventListener("click", (e) => this.onListClick(e));
    if (this.renameBtn) {
      this.renameBtn.addEventListener("click", () => this.startRename());
      this.renameForm.addEventListener("submit", async (e) => {
        e.preventDefault();
        const name = this.renameInput.value.trim();
        if (name && (await ctrl.rename(name))) this.renameForm.hidden = true;
        this.render();
      });
      q("#room-rename-cancel").addEventListener("click", () => {
        this.renameForm.hidden = true;
        this.render();
      });
      this.renameInput.addEventListener("keydown", (e) => {
        if (e.key === "Escape") {
          this.renameForm.hidden = true;
          this.render();
        }
      });
      this.archiveBtn.addEventListener("click", () => {
        const room = ctrl.rooms.get(this.roomId);
        if (room) ctrl.setArchived(!room.archived);
      });
      this.upBtn.addEventListener("click", () => ctrl.move(-1));
      this.downBtn.addEventListener("click", () => ctrl.move(1));
    }
  }

  show(roomId) {
    if (this.roomId !== roomId) {
      resetKeyed(this.list);
      this.stickToBottom = true;
      if (this.renameForm) this.renameForm.hidden = true;
    }
    this.roomId = roomId;
    // The conversation view keeps the composer; this view draws the rest.
    this.ctrl.app.view.show(roomId, roomId ? this : null);
  }

  startRename() {
    const room = this.ctrl.rooms.get(this.roomId);
    if (!room) return;
    this.renameForm.hidden = false;
    this.renameInput.value = room.name || "";
    this.nameEl.hidden = true;
    this.renameInput.focus();
    this.renameInput.select();
  }

  rerender() {
    resetKeyed(this.list);
    this.slowSelect.replaceChildren();
  }

  render() {
    const ctrl = this.ctrl;
    const room = this.roomId ? ctrl.rooms.get(this.roomId) : null;
    if (!room) return;
    this.renderHeader(room);
    this.renderMessages(room);
    this.renderReplying();
  }

  renderHeader(room) {
    const renaming = this.renameForm && !this.renameForm.hidden;
    this.nameEl.hidden = renaming;
    setText(this.nameEl, room.name || "");
    this.archivedPill.hidden = !room.archived;
    const parts = [];
    const un = room.unanswered || 0;
    parts.push(un ? t("rooms.unansweredN", { n: un }) : t("rooms.allAnswered"));
    if (room.slow_mode_seconds) parts.push(t("rooms.slowOn", { d: slowLabel(room.slow_mode_seconds) }));
    setText(this.subEl, parts.join(" · "));

    // Slow mode: the usual choices, plus whatever odd value was set elsewhere.
    const current = room.slow_mode_seconds || 0;
    const values = SLOW_MODES.includes(current) ? SLOW_MODES : [...SLOW_MODES, current].sort((a, b) => a - b);
    const labels = values.map((v) => (v ? slowLabel(v) : t("rooms.slowOff")));
    const sel = this.slowSelect;
    const same =
      sel.options.length === values.length &&
      values.every((v, i) => sel.options[i].value === String(v) && sel.options[i].text === labels[i]);
    if (!same && document.activeElement !== sel) {
      sel.replaceChildren(...values.map((v, i) => h("option", { value: String(v), text: labels[i] })));
    }
    if (sel.value !== String(current)) sel.value = String(current);

    const pinned = room.pinned && !room.pinned.hidden ? room.pinned : null;
    this.pinnedEl.hidden = !pinned;
    setAttr(this.pinnedEl, "data-message-id", pinned?.id || null);
    if (pinned) {
      setText(this.pinnedEl.querySelector(".room-pinned__author"), authorName(pinned.author));
      setText(this.pinnedEl.querySelector(".room-pinned__body"), pinned.body);
    }

    if (this.imagesBox && document.activeElement !== this.imagesBox) {
      this.imagesBox.checked = !!room.visitor_images;
    }
    if (this.archiveBtn) {
      setText(this.archiveBtn, t(room.archived ? "rooms.unarchive" : "rooms.archive"));
      setAttr(this.archiveBtn, "data-archived", room.archived ? "true" : "false");
      const rooms = this.ctrl.ordered();
      const i = rooms.findIndex((r) => r.id === room.id);
      this.upBtn.disabled = i <= 0;
      this.downBtn.disabled = i < 0 || i >= rooms.length - 1;
    }
  }

  renderMessages(room) {
    const ctrl = this.ctrl;
    const hist = ctrl.histories.get(room.id);
    const items = hist ? hist.ordered() : [];
    const stick = this.stickToBottom || this.nearBottom();
    // Questions with a visible staff answer, and who answered first.
    const answeredBy = new Map();
    for (const m of items) {
      if (m.author?.kind === "agent" && m.reply_to?.id && !m.hidden && !answeredBy.has(m.reply_to.id)) {
        answeredBy.set(m.reply_to.id, m.author);
      }
    }
    const ctx = {
      room,
      answeredBy,
      pinnedId: room.pinned && !room.pinned.hidden ? room.pinned.id : null,
      replyingId: ctrl.replyTo?.id || null,
      isOwner: ctrl.isOwner,
    };
    reconcile(
      this.list,
      items,
      (m) => m.id,
      (m) => createMessage(m),
      (el, m) => updateMessage(el, m, ctx, ctrl),
    );
    this.olderBtn.hidden = !(hist && hist.loaded && hist.hasMore);
    setText(this.olderBtn, t(hist?.loadingOlder ? "rooms.loadingOlder" : "rooms.older"));
    const notice = this.root.querySelector("#conv-notice");
    if (!hist || (!hist.loaded && !items.length)) {
      notice.hidden = false;
      setText(notice, t("conv.loading"));
    } else if (!items.length) {
      notice.hidden = false;
      setText(notice, t("rooms.noMessages"));
    } else {
      notice.hidden = true;
    }
    if (this.restoreAnchor) {
      const { id, top } = this.restoreAnchor;
      this.restoreAnchor = null;
      const el = id && this.list.querySelector(`[data-message-id="${CSS.escape(id)}"]`);
      if (el) this.scroller.scrollTop = el.offsetTop - top;
    } else if (stick) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
      this.stickToBottom = items.length === 0;
    }
  }

  // Where the first message sits, so loading older ones above keeps it in place.
  scrollAnchor() {
    const first = this.list.querySelector('[data-testid="room-message"]');
    if (!first) return null;
    return { id: first.dataset.messageId, top: first.offsetTop - this.scroller.scrollTop };
  }

  renderReplying() {
    const r = this.ctrl.replyTo;
    this.replying.hidden = !r;
    if (!r) return;
    setText(this.replying.querySelector(".replying__text"), `${authorName(r.author)}: ${snippet(r.body, 120)}`);
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < STICKY_PX;
  }

  onListClick(e) {
    const btn = e.target.closest("button[data-action]");
    if (!btn) return;
    const el = btn.closest('[data-testid="room-message"]');
    const hist = this.ctrl.histories.get(this.roomId);
    const msg = hist?.byId.get(el?.dataset.messageId);
    if (!msg) return;
    const ctrl = this.ctrl;
    switch (btn.dataset.action) {
      case "reply":
        ctrl.setReply(msg);
        break;
      case "hide":
        ctrl.moderate(msg.id, "hide");
        break;
      case "unhide":
        ctrl.moderate(msg.id, "unhide");
        break;
      case "pin": {
        const room = ctrl.rooms.get(this.roomId);
        ctrl.pin(room?.pinned?.id === msg.id ? null : msg.id);
        break;
      }
      case "mute": {
        const minutes = Number(el.querySelector('[data-testid="room-mute-minutes"]').value) || 60;
        ctrl.mute(msg.author.id, minutes);
        break;
      }
      case "unmute":
        ctrl.mute(msg.author.id, 0);
        break;
      case "faq":
        ctrl.makeFaq(msg.id);
        break;
      // The agent's own post: edited within 15 minutes, or deleted (asked twice).
      case "edit":
        openEditor(el.querySelector(".rmsg__body"), msg.body, (text) => ctrl.changeMessage("edit", { message_id: msg.id, body: text }));
        break;
      case "unsend":
        if (confirmed(btn)) ctrl.changeMessage("unsend", { message_id: msg.id });
        break;
      default:
        break;
    }
  }
}

function createMessage(m) {
  const isCustomer = m.author?.kind === "customer";
  const author = isCustomer
    ? h("a", { class: "rmsg__author", "data-testid": "room-author" })
    : h("span", { class: "rmsg__author" });
  const actions = h(
    "div",
    { class: "rmsg__actions", role: "toolbar" },
    h("button", { type: "button", class: "rmsg__act", "data-action": "reply", "data-testid": "room-reply-btn" }),
    h("button", { type: "button", class: "rmsg__act", "data-action": "pin", "data-testid": "room-pin-btn" }),
    h("button", { type: "button", class: "rmsg__act", "data-action": "hide", "data-testid": "room-hide-btn" }),
    h("button", { type: "button", class: "rmsg__act", "data-action": "unhide", "data-testid": "room-unhide-btn" }),
    h("button", { type: "button", class: "rmsg__act", "data-action": "edit", "data-testid": "room-edit-btn" }),
    h("button", { type: "button", class: "rmsg__act", "data-action": "unsend", "data-testid": "room-unsend-btn" }),
  );
  if (isCustomer) {
    actions.append(
      h(
        "span",
        { class: "rmsg__mute" },
        h(
          "select",
          { class: "select select--tiny", "data-testid": "room-mute-minutes" },
          ...MUTE_MINUTES.map((n) => h("option", { value: String(n) })),
        ),
        h("button", { type: "button", class: "rmsg__act rmsg__act--warn", "data-action": "mute", "data-testid": "room-mute-btn" }),
      ),
      h("button", { type: "button", class: "rmsg__act", "data-action": "unmute", "data-testid": "room-unmute-btn" }),
      h("button", { type: "button", class: "rmsg__act", "data-action": "faq", "data-testid": "room-faq-btn" }),
    );
  }
  return h(
    "li",
    { class: "rmsg", "data-testid": "room-message" },
    h(
      "div",
      { class: "rmsg__head" },
      author,
      h("span", { class: "rmsg__staff", "data-testid": "room-staff-badge" }),
      h("span", { class: "rmsg__hidden", "data-testid": "room-hidden-label" }),
      h("span", { class: "rmsg__muted", "data-testid": "room-muted-label" }),
      h("span", { class: "rmsg__state" }),
      h("span", { class: "rmsg__edited", "data-testid": "room-edited" }),
      // In the head row, in the flow: shown on hover, it never covers the text.
      actions,
      h("time", { class: "rmsg__time" }),
    ),
    h("div", { class: "rmsg__quote", "data-testid": "room-quote" }),
    h("div", { class: "msg__files-slot" }),
    h("div", { class: "rmsg__body" }),
    h(
      "div",
      { class: "rmsg__faq", "data-testid": "room-faq-created" },
      h("span", { class: "rmsg__faq-text" }),
      " ",
      h("a", { class: "rmsg__faq-link", "data-testid": "room-faq-link" }),
    ),
  );
}

function updateMessage(el, m, ctx, ctrl) {
  const author = m.author || { kind: "system", name: "" };
  const isCustomer = author.kind === "customer";
  const isStaff = author.kind === "agent";
  const hidden = Boolean(m.hidden);
  const gone = Boolean(m.deleted);
  const text = m.kind === "text" && !gone;
  setAttr(el, "data-message-id", m.id);
  setAttr(el, "data-seq", m.seq);
  setAttr(el, "data-author-kind", author.kind);
  setAttr(el, "data-hidden", hidden ? "true" : "false");
  const answered = ctx.answeredBy.get(m.id);
  const question = isCustomer && text && !m.reply_to && !hidden;
  setAttr(el, "data-answered", question ? String(Boolean(answered)) : null);
  el.className = `rmsg rmsg--${isStaff ? "staff" : isCustomer ? "visitor" : "system"}${hidden ? " rmsg--hidden" : ""}${
    m.reply_to ? " rmsg--answer" : ""
  }${m.id === ctx.pinnedId ? " rmsg--pinned" : ""}${m.id === ctx.replyingId ? " rmsg--replying" : ""}${
    gone ? " rmsg--deleted" : ""
  }`;
  setAttr(el, "data-deleted", gone ? "true" : null);

  const authorEl = el.querySelector(".rmsg__author");
  setText(authorEl, authorName(author));
  if (isCustomer && author.id) {
    setAttr(authorEl, "href", `/console/customers/${encodeURIComponent(author.id)}`);
    setAttr(authorEl, "title", t("rooms.openCustomer"));
  }
  const staff = el.querySelector(".rmsg__staff");
  staff.hidden = !isStaff;
  setText(staff, isStaff ? t("rooms.staff") : "");
  const hiddenEl = el.querySelector(".rmsg__hidden");
  hiddenEl.hidden = !hidden;
  setText(hiddenEl, hidden ? t("rooms.hidden") : "");
  const mutedUntil = isCustomer ? ctrl.mutedUntil(ctx.room.id, author.id) : null;
  const mutedEl = el.querySelector(".rmsg__muted");
  mutedEl.hidden = !mutedUntil;
  setText(mutedEl, mutedUntil ? t("rooms.mutedUntil", { time: clockTime(mutedUntil) }) : "");
  const state = el.querySelector(".rmsg__state");
  state.hidden = !question;
  setAttr(state, "data-answered", question ? String(Boolean(answered)) : null);
  setText(
    state,
    question ? (answered ? t("rooms.answeredBy", { name: answered.name || t("rooms.staff") }) : t("rooms.unanswered")) : "",
  );
  const time = el.querySelector(".rmsg__time");
  if (m.created_at) {
    setAttr(time, "datetime", m.created_at);
    setAttr(time, "title", fullTime(m.created_at));
    setText(time, clockTime(m.created_at));
  }

  const quote = el.querySelector(".rmsg__quote");
  const rt = m.reply_to;
  quote.hidden = !rt;
  if (rt) {
    setAttr(quote, "data-reply-to", rt.id);
    setAttr(quote, "data-hidden", rt.hidden ? "true" : null);
    const who = rt.author ? authorName(rt.author) : "";
    const body = rt.body ? snippet(rt.body, 160) : "";
    const label = rt.hidden && !body ? t("rooms.quoteHidden") : `${who ? `${who}: ` : ""}${body}`;
    setText(quote, `↪ ${label}${rt.hidden && body ? ` (${t("rooms.hidden")})` : ""}`);
  }
  setFiles(el.querySelector(".msg__files-slot"), m.attachments);
  setText(el.querySelector(".rmsg__body"), gone ? t("conv.deleted") : m.body);
  if (gone) el.querySelector(".msg__editor")?.remove();
  const edited = el.querySelector(".rmsg__edited");
  edited.hidden = !m.edited_at || gone;
  setText(edited, edited.hidden ? "" : t("conv.edited"));

  const act = (name) => el.querySelector(`[data-action="${name}"]`);
  const reply = act("reply");
  reply.hidden = !text || hidden;
  setText(reply, t("rooms.reply"));
  const pin = act("pin");
  pin.hidden = !text || hidden;
  setText(pin, t(m.id === ctx.pinnedId ? "rooms.unpin" : "rooms.pin"));
  setAttr(pin, "aria-pressed", String(m.id === ctx.pinnedId));
  act("hide").hidden = !text || hidden;
  setText(act("hide"), t("rooms.hide"));
  act("unhide").hidden = !text || !hidden;
  setText(act("unhide"), t("rooms.unhide"));
  const own = isStaff && author.id === ctrl.me.id && text;
  act("edit").hidden = !(own && editable(m));
  setText(act("edit"), t("conv.edit"));
  const unsend = act("unsend");
  unsend.hidden = !own;
  if (!unsend.dataset.confirm) setText(unsend, t("conv.unsend"));
  if (isCustomer) {
    const muteBox = el.querySelector(".rmsg__mute");
    muteBox.hidden = Boolean(mutedUntil);
    const sel = el.querySelector('[data-testid="room-mute-minutes"]');
    setAttr(sel, "aria-label", t("rooms.muteFor"));
    MUTE_MINUTES.forEach((n, i) => setText(sel.options[i], muteLabel(n)));
    if (!sel.dataset.init) {
      sel.value = "60";
      sel.dataset.init = "1";
    }
    setText(act("mute"), t("rooms.mute"));
    setAttr(act("mute"), "title", t("rooms.muteTitle", { name: authorName(author) }));
    act("unmute").hidden = !mutedUntil;
    setText(act("unmute"), t("rooms.unmute"));
    const faq = act("faq");
    faq.hidden = !(ctx.isOwner && text && !hidden && !m.reply_to && answered);
    setText(faq, t("rooms.makeFaq"));
  }
  const made = ctrl.faqMade.get(m.id);
  const faqEl = el.querySelector(".rmsg__faq");
  faqEl.hidden = !made;
  if (made) {
    setText(faqEl.querySelector(".rmsg__faq-text"), t("rooms.faqCreated"));
    const link = faqEl.querySelector("a");
    setAttr(link, "href", `/console/faq#faq=${encodeURIComponent(made)}`);
    setText(link, t("rooms.faqOpen"));
  }
}

export function authorName(author) {
  if (!author) return "";
  if (author.name) return author.name;
  return author.kind === "customer" ? `${t("visitor")} ${String(author.id || "").slice(-4)}` : "";
}

function snippet(text, n) {
  const s = String(text || "").replace(/\s+/g, " ").trim();
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function slowLabel(seconds) {
  if (seconds % 60 === 0) return t("rooms.minutes", { n: seconds / 60 });
  return t("rooms.seconds", { n: seconds });
}

function muteLabel(minutes) {
  if (minutes % 1440 === 0) return t("rooms.days", { n: minutes / 1440 });
  if (minutes % 60 === 0) return t("rooms.hours", { n: minutes / 60 });
  return t("rooms.minutes", { n: minutes });
}
