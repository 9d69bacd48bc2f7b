// The conversation column: header with the room's actions, the history, the
// typing line and the reply box. It renders from the store and reports what the
// agent does through callbacks; it never talks to the network itself.

import { t, clockTime, fullTime, eventText } from "./i18n.js";
import { roomTitle, shortId } from "./model.js";
import { h, setText, setAttr, reconcile, resetKeyed, chatText } from "./dom.js";
import { AttachTray, bindDrops, setFiles } from "./attachments.js";

// The server counts characters (code points), not UTF-16 units.
const MAX_BODY = 4000;
// Within this many pixels of the bottom counts as "reading the latest".
const STICKY_PX = 80;
// Suggestions under this confidence are shown dimmed: worth a look, not a click.
const WEAK_SCORE = 0.5;
const SUGG_COLLAPSED_KEY = "sapa.console.suggestions.collapsed";
// A sender edits a message within this long of sending it (the server checks too).
const EDIT_MS = 15 * 60 * 1000;

export class ConversationView {
  constructor(root, store, callbacks) {
    this.root = root;
    this.store = store;
    this.cb = callbacks;
    this.roomId = null;
    this.drafts = new Map();
    // roomId -> {faq_id, for_message_id} of the suggestion now in the reply box.
    this.links = new Map();
    // "for_message_id:faq_id" of suggestions already sent, to mark them.
    this.usedSuggestions = new Set();
    this.state = "empty";
    // A public room's view (room_view.js) while one is open: it draws the header
    // and the messages; this view keeps the reply box and the FAQ suggestions.
    this.takeover = null;

    const q = (sel) => root.querySelector(sel);
    this.emptyEl = q("#conv-empty");
    this.paneEl = q("#conv-pane");
    this.nameEl = q("#conv-name");
    this.subEl = q("#conv-sub");
    this.statusEl = q("#conv-status");
    this.assigneeEl = q("#conv-assignee");
    this.assignMe = q('[data-testid="assign-me"]');
    this.assignSelect = q('[data-testid="assign-select"]');
    this.resolveBtn = q('[data-testid="resolve-btn"]');
    this.reopenBtn = q('[data-testid="reopen-btn"]');
    this.scroller = q("#conv-scroll");
    this.list = q("#conv-messages");
    this.noticeEl = q("#conv-notice");
    this.typingEl = q("#conv-typing");
    this.form = q("#composer");
    this.input = q('[data-testid="reply-input"]');
    this.sendBtn = q('[data-testid="reply-send"]');
    this.noteToggle = q('[data-testid="note-toggle"]');
    this.hintEl = q("#composer-hint");
    this.suggPanel = q('[data-testid="suggestions-panel"]');
    this.suggList = q("#suggestions-list");
    this.suggToggle = q("#suggestions-toggle");
    this.suggCount = q("#suggestions-count");
    this.suggCollapsed = loadFlag(SUGG_COLLAPSED_KEY);
    this.tray = new AttachTray(
      q('[data-testid="attach-tray"]'),
      () => this.updateSendable(),
      (code) => this.cb.onError(code),
    );
    const fileInput = q('[data-testid="attach-input"]');
    q('[data-testid="attach-btn"]').addEventListener("click", () => fileInput.click());
    fileInput.addEventListener("change", () => {
      this.tray.add(fileInput.files);
      fileInput.value = "";
    });
    bindDrops(this.input, this.paneEl, this.tray);

    this.assignMe.addEventListener("click", () => this.cb.onAssign(this.store.me.id));
    this.assignSelect.addEventListener("change", () => {
      this.cb.onAssign(this.assignSelect.value || null);
    });
    this.resolveBtn.addEventListener("click", () => this.cb.onResolve());
    this.reopenBtn.addEventListener("click", () => this.cb.onReopen());
    this.noteToggle.addEventListener("change", () => this.onModeChange());
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("input", () => {
      this.autosize();
      // An emptied box no longer carries the suggestion it started from.
      if (!this.input.value.trim() && this.links.delete(this.roomId)) this.renderSuggestions();
      if (!this.isNote()) this.cb.onTyping(this.input.value.length > 0);
    });
    this.list.addEventListener("click", (e) => {
      const action = e.target.closest("[data-msg-action]");
      if (action) return this.onMessageAction(action);
      const failed = e.target.closest('[data-state="failed"]');
      if (failed) this.cb.onRetry(failed.dataset.clientMsgId);
    });
    this.scroller.addEventListener("scroll", () => {
      if (this.nearBottom()) this.cb.onReachBottom?.();
    });
    this.suggToggle.addEventListener("click", () => {
      this.suggCollapsed = !this.suggCollapsed;
      saveFlag(SUGG_COLLAPSED_KEY, this.suggCollapsed);
      this.renderSuggestions();
    });
    this.suggList.addEventListener("click", (e) => {
      const btn = e.target.closest('[data-testid="suggestion"]');
      if (btn) this.useSuggestion(btn.dataset.faqId);
    });
  }

  // Edit and Delete under the agent's own messages: Delete asks once more; Escape
  // cancels either.
  onMessageAction(btn) {
    const li = btn.closest("li");
    const id = li?.dataset.messageId;
    if (!id) return;
    if (btn.dataset.msgAction === "unsend") {
      if (confirmed(btn)) this.cb.onUnsend(id);
      return;
    }
    const m = this.store.convs.get(this.roomId)?.ordered().find((x) => x.id === id);
    if (m) openEditor(li.querySelector(".msg__body"), m.body, (text) => this.cb.onEdit(id, text));
  }

  isNote() {
    // No notes in public rooms: everything there is public.
    return !this.takeover && this.noteToggle.checked;
  }

  // Switching rooms keeps each room's unsent draft and resets the reply mode.
  show(roomId, takeover = null) {
    if (this.roomId === roomId && this.takeover === takeover) return;
    this.takeover = takeover;
    this.paneEl.classList.toggle("conv-pane--room", Boolean(takeover));
    setAttr(this.paneEl, "data-testid", takeover ? "room-view" : null);
    setAttr(this.paneEl, "data-room-id", takeover ? roomId : null);
    if (this.roomId) this.drafts.set(this.roomId, this.input.value);
    if (this.roomId && this.input.value) this.cb.onTyping(false);
    this.roomId = roomId;
    resetKeyed(this.list);
    this.input.value = (roomId && this.drafts.get(roomId)) || "";
    this.noteToggle.checked = false;
    this.onModeChange();
    this.autosize();
    this.stickToBottom = true;
    this.render();
  }

  // state: "loading" | "ready" | "failed"
  setLoadState(state) {
    this.state = state;
    this.render();
  }

  render() {
    if (this.takeover) {
      this.emptyEl.hidden = true;
      this.paneEl.hidden = false;
      this.hintEl.hidden = true;
      this.takeover.render();
      this.renderSuggestions();
      return;
    }
    const room = this.roomId ? this.store.rooms.get(this.roomId) : null;
    this.emptyEl.hidden = Boolean(room);
    this.paneEl.hidden = !room;
    if (!room) return;
    this.renderHeader(room);
    this.renderMessages();
    this.renderTyping();
    this.renderSuggestions();
    const resolved = room.status === "resolved";
    this.hintEl.hidden = !resolved;
  }

  rerender() {
    resetKeyed(this.list);
    resetKeyed(this.suggList);
    this.onModeChange();
    this.takeover?.rerender();
    this.render();
  }

  renderHeader(room) {
    const me = this.store.me;
    setText(this.nameEl, roomTitle(room));
    const email = room.customer?.email;
    setText(this.subEl, email || `#${shortId(room.customer_id || room.id)}`);
    setAttr(this.statusEl, "data-status", room.status);
    setText(this.statusEl, t(`room.${room.status}`));
    const assigneeName = room.assignee
      ? room.assignee.name || this.store.agentName(room.assignee.id)
      : t("conv.unassigned");
    setText(this.assigneeEl, assigneeName);

    this.assignMe.hidden = room.assignee?.id === me.id;
    this.resolveBtn.hidden = room.status === "resolved";
    this.reopenBtn.hidden = room.status !== "resolved";
    this.renderAssignOptions(room);
  }

  renderAssignOptions(room) {
    // This agent's own status is what this console says, whatever the team list holds.
    const me = this.store.me;
    const agents = [...this.store.agents.values()]
      .map((a) => (a.id === me.id ? { ...a, status: me.status === "away" ? "away" : "online" } : a))
      .sort((a, b) => a.name.localeCompare(b.name));
    const current = room.assignee?.id || "";
    if (current && !this.store.agents.has(current)) {
      agents.push({ id: current, name: room.assignee.name || current, status: "offline" });
    }
    const wanted = [{ id: "", label: t("conv.unassigned") }].concat(
      agents.map((a) => ({
        id: a.id,
        label: a.status && a.status !== "online" ? `${a.name} (${t(`status.${a.status}`)})` : a.name,
      })),
    );
    const sel = this.assignSelect;
    // Rebuilding the options while the agent has the list open would close it.
    if (document.activeElement !== sel || sel.options.length !== wanted.length) {
      const same =
        sel.options.length === wanted.length &&
        wanted.every((w, i) => sel.options[i].value === w.id && sel.options[i].text === w.label);
      if (!same) sel.replaceChildren(...wanted.map((w) => h("option", { value: w.id, text: w.label })));
    }
    if (sel.value !== current) sel.value = current;
  }

  renderMessages() {
    const conv = this.store.convs.get(this.roomId);
    const items = conv ? conv.ordered() : [];
    const stick = this.stickToBottom || this.nearBottom();
    const seenSeq = this.store.customerRead.get(this.roomId) || 0;
    // Only the latest agent message the customer has read gets the "Seen" mark.
    let seenKey = null;
    for (const m of items) {
      if (m.seq && m.seq <= seenSeq && m.author?.kind === "agent" && m.kind === "text") {
        seenKey = keyOf(m);
      }
    }
    reconcile(
      this.list,
      items,
      keyOf,
      (m) => createMessage(m),
      (el, m) => updateMessage(el, m, keyOf(m) === seenKey, this.store.me.id),
    );
    if (this.state === "loading" && !items.length) {
      this.noticeEl.hidden = false;
      setText(this.noticeEl, t("conv.loading"));
    } else if (this.state === "failed") {
      this.noticeEl.hidden = false;
      setText(this.noticeEl, t("conv.loadFailed"));
    } else {
      this.noticeEl.hidden = true;
    }
    if (stick) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
      this.stickToBottom = items.length === 0;
    }
  }

  renderTyping() {
    const room = this.store.rooms.get(this.roomId);
    const typers = this.store.typers(this.roomId);
    if (!typers.length || !room) {
      this.typingEl.hidden = true;
      setText(this.typingEl, "");
      return;
    }
    const who = typers[0];
    const text =
      who.kind === "customer"
        ? t("conv.typing", { name: roomTitle(room) })
        : t("conv.typing", { name: who.name || "" });
    this.typingEl.hidden = false;
    setText(this.typingEl, text);
  }

  // The FAQ suggestions for the latest customer message, as compact cards
  // above the reply box.
  renderSuggestions() {
    const s = this.roomId ? this.store.suggestionsFor(this.roomId) : null;
    this.suggPanel.hidden = !s;
    if (!s) {
      resetKeyed(this.suggList);
      return;
    }
    const link = this.links.get(this.roomId);
    setAttr(this.suggToggle, "aria-expanded", String(!this.suggCollapsed));
    this.suggPanel.classList.toggle("suggestions--collapsed", this.suggCollapsed);
    this.suggList.hidden = this.suggCollapsed;
    setText(this.suggCount, s.items.length);
    reconcile(
      this.suggList,
      s.items,
      (it) => `${s.for_message_id}:${it.faq_id}`,
      () => createSuggestion(),
      (el, it) => {
        const picked = Boolean(link && link.faq_id === it.faq_id && link.for_message_id === s.for_message_id);
        const used = this.usedSuggestions.has(`${s.for_message_id}:${it.faq_id}`);
        updateSuggestion(el, it, picked, used);
      },
    );
  }

  // First click puts the answer in the reply box; a click on the suggestion
  // already there sends the box (edited or not).
  useSuggestion(faqId) {
    const s = this.store.suggestionsFor(this.roomId);
    const item = s?.items.find((it) => it.faq_id === faqId);
    if (!item) return;
    const link = this.links.get(this.roomId);
    if (link && link.faq_id === faqId && link.for_message_id === s.for_message_id && this.input.value.trim()) {
      this.submit();
      return;
    }
    if (this.isNote()) {
      // An answer is for the customer, never a private note.
      this.noteToggle.checked = false;
      this.onModeChange();
    }
    this.input.value = replyText(item);
    this.links.set(this.roomId, { faq_id: faqId, for_message_id: s.for_message_id });
    this.autosize();
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
    this.cb.onTyping(true);
    this.renderSuggestions();
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < STICKY_PX;
  }

  onKey(e) {
    // Enter sends; Shift+Enter is a newline; Enter while an IME composes is the IME's.
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    this.submit();
  }

  updateSendable() {
    // A message with files waits for their uploads.
    this.sendBtn.disabled = this.tray.busy;
  }

  submit() {
    const body = this.input.value.trim();
    if (this.tray.busy || (!body && this.tray.empty) || !this.roomId) return;
    const attachments = this.tray.ids;
    if ([...body].length > MAX_BODY) {
      this.cb.onError("too_large");
      return;
    }
    const kind = this.isNote() ? "note" : "text";
    // A reply that started from a suggestion says so, however much it was
    // edited; the server learns the customer's wording from it.
    const link = kind === "text" ? this.links.get(this.roomId) : null;
    this.links.delete(this.roomId);
    if (link) this.usedSuggestions.add(`${link.for_message_id}:${link.faq_id}`);
    this.input.value = "";
    this.drafts.delete(this.roomId);
    this.autosize();
    this.stickToBottom = true;
    this.cb.onTyping(false);
    this.tray.clear();
    this.cb.onSend(body, kind, link || null, attachments);
    this.input.focus();
    this.renderSuggestions();
  }

  onModeChange() {
    const note = this.isNote();
    this.form.classList.toggle("composer--note", note);
    this.input.placeholder = t(note ? "conv.notePlaceholder" : "conv.placeholder");
    setText(this.sendBtn, t(note ? "conv.addNote" : "conv.send"));
    // A private note must not leak even as a "typing…" hint to the customer.
    if (note) this.cb.onTyping(false);
  }

  autosize() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 220)}px`;
  }

  focusInput() {
    this.input.focus();
  }
}

function keyOf(m) {
  if (m.kind === "activity") return `a:${m.id}`;
  // A send keeps its key from "sending" to stored, so its node stays put.
  return m.client_msg_id ? `c:${m.author?.kind}:${m.client_msg_id}` : `i:${m.id}`;
}

// A compact transcript line for what the shopper saw or did outside messages.
function activityText(item) {
  if (item.kind === "rating") {
    const r = item.rating || {};
    return r.comment
      ? t("transcript.ratingComment", { score: r.score, comment: r.comment })
      : t("transcript.rating", { score: r.score });
  }
  const f = item.faq || {};
  const q = f.question || t("transcript.faqDeleted");
  const key =
    { shown: "transcript.faqShown", helpful: "transcript.faqHelpful", not_helpful: "transcript.faqNotHelpful", used: "transcript.faqUsed" }[
      f.event
    ] || "transcript.faqShown";
  return t(key, { q });
}

function activityMark(item) {
  if (item.kind === "rating") {
    const n = Math.max(0, Math.min(5, Number(item.rating?.score) || 0));
    return "★".repeat(n) + "☆".repeat(5 - n);
  }
  return { helpful: "👍", not_helpful: "👎" }[item.faq?.event] || "💡";
}

function createMessage(m) {
  if (m.kind === "activity") {
    return h(
      "li",
      { class: "msg msg--event msg--activity", "data-testid": "transcript-item" },
      h("span", { class: "msg__mark", "aria-hidden": "true" }),
      h("span", { class: "msg__body" }),
      h("time", { class: "msg__time" }),
    );
  }
  if (m.kind === "event") {
    return h(
      "li",
      { class: "msg msg--event", "data-testid": "message" },
      h("span", { class: "msg__body" }),
      h("time", { class: "msg__time" }),
    );
  }
  const label = m.kind === "note" ? h("div", { class: "msg__label", text: t("conv.note") }) : null;
  return h(
    "li",
    { class: "msg", "data-testid": "message" },
    h(
      "div",
      { class: "msg__bubble" },
      label,
      h("div", { class: "msg__files-slot" }),
      h("div", { class: "msg__body" }),
    ),
    h(
      "div",
      { class: "msg__meta" },
      h("span", { class: "msg__author" }),
      h("time", { class: "msg__time" }),
      h("span", { class: "msg__edited" }),
      h("span", { class: "msg__state" }),
      h("span", { class: "msg__actions" }),
    ),
  );
}

// The agent's own sent messages: Edit (within EDIT_MS) and Delete.
function updateActions(el, m, meId) {
  const slot = el.querySelector(".msg__actions");
  const own = m.author?.kind === "agent" && m.author.id === meId && m.id && !m.deleted && !m.state;
  const canEdit = own && editable(m);
  const want = own ? (canEdit ? "edit unsend" : "unsend") : "";
  if (slot.dataset.want === want) return;
  slot.dataset.want = want;
  slot.replaceChildren(
    ...want
      .split(" ")
      .filter(Boolean)
      .map((a) =>
        h("button", {
          type: "button",
          class: "msg__action",
          "data-msg-action": a,
          "data-testid": `msg-${a}`,
          text: t(a === "edit" ? "conv.edit" : "conv.unsend"),
        }),
      ),
  );
}

// Delete asks once more: true on the second click; blur or Escape takes the question back.
export function confirmed(btn) {
  if (btn.dataset.confirm) return true;
  btn.dataset.confirm = "1";
  btn.textContent = t("conv.unsendSure");
  const reset = () => {
    delete btn.dataset.confirm;
    btn.textContent = t("conv.unsend");
  };
  btn.addEventListener("blur", reset, { once: true });
  btn.addEventListener("keydown", (e) => e.key === "Escape" && reset(), { once: true });
  return false;
}

// The editor in place of a message's text (Enter saves, Escape cancels); `save(text)`
// resolves true when the change was taken.
export function openEditor(body, current, save) {
  if (!body || body.parentNode.querySelector(".msg__editor")) return;
  const box = h("textarea", { class: "msg__edit-box", rows: "3", maxlength: String(MAX_BODY), "aria-label": t("conv.edit"), "data-testid": "edit-box" });
  box.value = current;
  const ok = h("button", { type: "submit", class: "btn btn--small", text: t("conv.save"), "data-testid": "edit-save" });
  const cancel = h("button", { type: "button", class: "btn btn--small btn--ghost", text: t("conv.cancelEdit") });
  const form = h("form", { class: "msg__editor" }, box, h("div", { class: "msg__editor-row" }, cancel, ok));
  const close = () => {
    form.remove();
    body.hidden = false;
  };
  cancel.addEventListener("click", close);
  box.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      close();
    } else if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = box.value;
    if (!text.trim() || text === current) return close();
    if (await save(text)) close();
  });
  body.hidden = true;
  body.after(form);
  box.focus();
}

// Whether the agent may still edit this message of theirs (the server checks too).
export function editable(m) {
  return !!m.body && Date.now() - Date.parse(m.created_at) < EDIT_MS;
}

function updateMessage(el, m, seen, meId) {
  if (m.kind === "activity") {
    const item = m.item;
    setAttr(el, "data-activity-kind", item.kind === "rating" ? "rating" : `faq-${item.faq?.event || "shown"}`);
    setText(el.querySelector(".msg__mark"), activityMark(item));
    setText(el.querySelector(".msg__body"), activityText(item));
    const time = el.querySelector(".msg__time");
    setAttr(time, "datetime", item.at);
    setAttr(time, "title", fullTime(item.at));
    setText(time, clockTime(item.at));
    return;
  }
  const author = m.author || { kind: "agent", name: "" };
  const state = m.state || "sent";
  setAttr(el, "data-kind", m.kind);
  setAttr(el, "data-author-kind", author.kind);
  setAttr(el, "data-state", state);
  setAttr(el, "data-seq", m.seq ?? "");
  setAttr(el, "data-message-id", m.id || null);
  setAttr(el, "data-client-msg-id", m.client_msg_id || null);
  const side = author.kind === "customer" ? "in" : "out";
  el.className = `msg msg--${m.kind === "event" ? "event" : side}${m.kind === "note" ? " msg--note" : ""}${m.deleted ? " msg--deleted" : ""}`;
  const isSystem = m.kind === "event" && author.kind === "system";
  setText(el.querySelector(".msg__body"), isSystem ? eventText(m) : m.deleted ? t("conv.deleted") : m.body);
  const time = el.querySelector(".msg__time");
  if (m.created_at) {
    setAttr(time, "datetime", m.created_at);
    setAttr(time, "title", fullTime(m.created_at));
    setText(time, clockTime(m.created_at));
  }
  if (m.kind === "event") return;
  setFiles(el.querySelector(".msg__files-slot"), m.attachments);
  setText(el.querySelector(".msg__edited"), m.edited_at && !m.deleted ? t("conv.edited") : "");
  updateActions(el, m, meId);
  if (m.deleted) el.querySelector(".msg__editor")?.remove();
  setText(el.querySelector(".msg__author"), author.kind === "customer" ? "" : author.name || "");
  const stateEl = el.querySelector(".msg__state");
  const stateText =
    state === "sending" ? t("conv.sending") : state === "failed" ? t("conv.failed") : seen ? t("conv.seen") : "";
  setText(stateEl, stateText);
  setAttr(el, "role", state === "failed" ? "button" : null);
}

function createSuggestion() {
  return h(
    "li",
    { class: "suggestions__item" },
    h(
      "button",
      { type: "button", class: "suggestion", "data-testid": "suggestion" },
      h(
        "span",
        { class: "suggestion__top" },
        h("span", { class: "suggestion__q" }),
        h("span", { class: "suggestion__score", "data-testid": "suggestion-score" }),
      ),
      h("span", { class: "suggestion__a" }),
      h("span", { class: "suggestion__state" }),
    ),
  );
}

function updateSuggestion(el, it, picked, used) {
  const btn = el.firstChild;
  const score = Number(it.score) || 0;
  const pct = `${Math.round(Math.max(0, Math.min(1, score)) * 100)}%`;
  const weak = score < WEAK_SCORE;
  setAttr(btn, "data-faq-id", it.faq_id);
  setAttr(btn, "data-score", score.toFixed(3));
  setAttr(btn, "data-weak", weak ? "true" : null);
  setAttr(btn, "aria-pressed", String(picked));
  const text = replyText(it);
  setAttr(btn, "title", `${it.question || ""}\n\n${text}\n\n${picked ? t("sugg.send") : t("sugg.use")}`);
  setText(btn.querySelector(".suggestion__q"), it.question || "");
  const scoreEl = btn.querySelector(".suggestion__score");
  setText(scoreEl, pct);
  setAttr(scoreEl, "title", weak ? t("sugg.weak") : null);
  setText(btn.querySelector(".suggestion__a"), text);
  setText(btn.querySelector(".suggestion__state"), picked ? `↵ ${t("sugg.send")}` : used ? `✓ ${t("sugg.used")}` : "");
}

// What a suggestion puts in the reply box: its answer as chat text.
const replyCache = new Map();
function replyText(it) {
  const key = `${it.answer_html || ""}\u0000${it.answer || ""}`;
  let text = replyCache.get(key);
  if (text === undefined) {
    text = chatText(it.answer_html, String(it.answer || ""));
    if (replyCache.size > 200) replyCache.clear();
    replyCache.set(key, text);
  }
  return text;
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
