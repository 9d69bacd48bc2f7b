// The customer record as panels: who they are, what they are worth, their last
// orders and conversations, and what agents keep about them (tags, attributes,
// notes), plus their consents. The conversation sidebar and the customer page
// both use it. Every value from the server goes in through textContent.
//
// Edits go straight to the server (PATCH / POST notes); `reload` is asked for
// a fresh record afterwards, so what is shown is always what is stored.

import { t } from "./i18n.js";
import { h, setText, setAttr, hueOf, initials } from "./dom.js";
import { showToast, errorText } from "./shell.js";
import { labelChip } from "./workgroups.js";
import {
  ATTR_KEY,
  MAX_TAG,
  MAX_NOTE,
  MAX_ATTR_VALUE,
  addCustomerNote,
  attrText,
  attrValue,
  consentKind,
  consentSource,
  customerUrl,
  dateOnly,
  dateTime,
  displayName,
  getCustomer,
  lifecycleLabel,
  money,
  patchCustomer,
  segmentOf,
  updateSegmentBadge,
} from "./crm.js";

const ORDERS_SHOWN = 5;
const ROOMS_SHOWN = 8;

export class CustomerRecord {
  // options: {variant: "sidebar"|"page", headRoot?: Element (the page puts the
  // head in its header), reload: () => Promise, roomId?: the open conversation}
  constructor(root, options) {
    this.root = root;
    this.variant = options.variant || "sidebar";
    this.reload = options.reload;
    this.roomId = options.roomId || null;
    this.record = null;
    this.busy = false;
    this.editingKey = null;
    // Owners keep the consent record (record or withdraw it in the panel).
    this.owner = options.owner ?? bootRole() === "owner";
    this.build(options.headRoot);
  }

  build(headRoot) {
    const sec = (titleKey, testid, ...children) =>
      h(
        "section",
        { class: "crm-sec", "data-section": testid || null },
        h("h3", { class: "crm-sec__title", "data-i18n": titleKey, text: t(titleKey) }),
        ...children,
      );

    // ---- head -----------------------------------------------------------
    this.avatar = h("span", { class: "avatar crm-head__avatar", "aria-hidden": "true" });
    this.nameEl = h("h2", { class: "crm-head__name", "data-testid": "customer-name" });
    this.segmentEl = h("span", { class: "segment", "data-testid": "customer-segment" });
    this.lifecycleEl = h("span", { class: "chip crm-lifecycle", "data-testid": "customer-lifecycle" });
    this.openLink =
      this.variant === "sidebar"
        ? h("a", {
            class: "crm-head__open",
            "data-testid": "customer-open",
            "data-i18n-title": "crm.openPage",
            title: t("crm.openPage"),
            "aria-label": t("crm.openPage"),
            text: "↗",
          })
        : null;
    this.head = h(
      "div",
      { class: `crm-head crm-head--${this.variant}` },
      this.avatar,
      h(
        "div",
        { class: "crm-head__who" },
        this.nameEl,
        (this.badgesEl = h("div", { class: "crm-head__badges" }, this.segmentEl, this.lifecycleEl)),
      ),
      this.openLink,
    );

    this.erasedEl = h(
      "p",
      { class: "crm-erased", "data-testid": "customer-erased", role: "status", hidden: true },
    );

    // ---- facts ----------------------------------------------------------
    this.facts = {};
    const fact = (key, labelKey) => {
      const dd = h("dd", { "data-testid": `customer-${key}` });
      this.facts[key] = dd;
      return h("div", { class: "crm-fact", "data-fact": key }, h("dt", { text: t(labelKey), "data-i18n": labelKey }), dd);
    };
    this.factsEl = h(
      "dl",
      { class: "crm-facts" },
      fact("email", "crm.email"),
      fact("phone", "crm.phone"),
      fact("external-id", "crm.externalId"),
      fact("first-seen", "crm.firstSeen"),
      fact("last-seen", "crm.lastSeen"),
    );

    // ---- value ----------------------------------------------------------
    this.ltvEl = h("strong", { class: "crm-stat__value", "data-testid": "customer-ltv" });
    this.ordersCountEl = h("strong", { class: "crm-stat__value", "data-testid": "customer-orders-count" });
    this.rfmEl = h("div", { class: "crm-rfm", "data-testid": "customer-rfm" });
    const stat = (labelKey, valueEl) =>
      h("div", { class: "crm-stat" }, h("span", { class: "crm-stat__label", "data-i18n": labelKey, text: t(labelKey) }), valueEl);
    this.valueEl = h(
      "div",
      { class: "crm-stats" },
      stat("crm.ltv", this.ltvEl),
      stat("crm.ordersCount", this.ordersCountEl),
      h(
        "div",
        { class: "crm-stat crm-stat--rfm" },
        h("span", { class: "crm-stat__label", "data-i18n": "crm.rfm", text: t("crm.rfm"), title: t("crm.rfmHint") }),
        this.rfmEl,
      ),
    );

    // ---- orders and conversations ------------------------------------------
    this.ordersEl = h("ol", { class: "crm-orders", "data-testid": "customer-orders" });
    this.ordersEmpty = h("p", { class: "crm-empty muted small", "data-i18n": "crm.noOrders", text: t("crm.noOrders") });
    this.roomsEl = h("ul", { class: "crm-rooms", "data-testid": "customer-rooms" });
    this.roomsEmpty = h("p", { class: "crm-empty muted small", "data-i18n": "crm.noRooms", text: t("crm.noRooms") });

    // ---- tags -----------------------------------------------------------
    this.tagsEl = h("ul", { class: "crm-tags", "data-testid": "customer-tags" });
    this.tagInput = h("input", {
      class: "input input--small",
      type: "text",
      maxlength: String(MAX_TAG),
      "data-testid": "customer-tag-input",
      "data-i18n-placeholder": "crm.tagPlaceholder",
      placeholder: t("crm.tagPlaceholder"),
      "aria-label": t("crm.tagPlaceholder"),
      autocomplete: "off",
    });
    this.tagAdd = h("button", {
      type: "submit",
      class: "btn btn--small",
      "data-testid": "customer-tag-add",
      "data-i18n": "crm.add",
      text: t("crm.add"),
    });
    this.tagForm = h("form", { class: "crm-inline-form", autocomplete: "off" }, this.tagInput, this.tagAdd);

    // ---- attributes -------------------------------------------------------
    this.attrsEl = h("ul", { class: "crm-attrs" });
    this.attrsEmpty = h("p", { class: "crm-empty muted small", "data-i18n": "crm.noAttrs", text: t("crm.noAttrs") });
    this.attrKey = h("input", {
      class: "input input--small crm-attr-form__key",
      type: "text",
      maxlength: "40",
      "data-testid": "customer-attr-key",
      "data-i18n-placeholder": "crm.attrKey",
      placeholder: t("crm.attrKey"),
      "aria-label": t("crm.attrKey"),
      autocomplete: "off",
      spellcheck: "false",
    });
    this.attrVal = h("input", {
      class: "input input--small",
      type: "text",
      maxlength: String(MAX_ATTR_VALUE),
      "data-testid": "customer-attr-value",
      "data-i18n-placeholder": "crm.attrValue",
      placeholder: t("crm.attrValue"),
      "aria-label": t("crm.attrValue"),
      autocomplete: "off",
    });
    this.attrAdd = h("button", { type: "submit", class: "btn btn--small", "data-testid": "customer-attr-add" });
    this.attrForm = h("form", { class: "crm-inline-form crm-attr-form", autocomplete: "off" }, this.attrKey, this.attrVal, this.attrAdd);

    // ---- notes ----------------------------------------------------------
    this.noteInput = h("textarea", {
      class: "input crm-note-input",
      rows: "2",
      maxlength: String(MAX_NOTE),
      "data-testid": "customer-note-input",
      "data-i18n-placeholder": "crm.notePlaceholder",
      placeholder: t("crm.notePlaceholder"),
      "aria-label": t("crm.notePlaceholder"),
    });
    this.noteAdd = h("button", {
      type: "submit",
      class: "btn btn--small",
      "data-testid": "customer-note-add",
      "data-i18n": "crm.noteAdd",
      text: t("crm.noteAdd"),
    });
    this.noteForm = h("form", { class: "crm-note-form", autocomplete: "off" }, this.noteInput, h("div", { class: "crm-note-form__foot" }, this.noteAdd));
    this.notesEl = h("ol", { class: "crm-notes", "data-testid": "customer-notes" });
    this.notesEmpty = h("p", { class: "crm-empty muted small", "data-i18n": "crm.noNotes", text: t("crm.noNotes") });

    // ---- consents ---------------------------------------------------------
    this.consentsEl = h("ul", { class: "crm-consents", "data-testid": "customer-consents" });

    this.errorEl = h("p", { class: "form-error crm-error", "data-testid": "customer-error", role: "alert", hidden: true });

    this.editables = [this.tagForm, this.attrForm, this.noteForm];

    const body = [
      this.erasedEl,
      this.factsEl,
      sec("crm.value", "value", this.valueEl),
      sec("crm.orders", "orders", this.ordersEl, this.ordersEmpty),
      sec("crm.rooms", "rooms", this.roomsEl, this.roomsEmpty),
      sec("crm.tags", "tags", this.tagsEl, this.tagForm),
      sec("crm.attrs", "attrs", this.attrsEl, this.attrsEmpty, this.attrForm),
      sec("crm.notes", "notes", this.noteForm, this.notesEl, this.notesEmpty),
      sec("crm.consents", "consents", this.consentsEl),
      this.errorEl,
    ];
    if (headRoot) headRoot.prepend(this.head);
    else this.root.append(this.head);
    this.root.append(...body);
    this.root.classList.add("crm", `crm--${this.variant}`);

    this.wire();
  }

  wire() {
    this.tagForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.addTag();
    });
    this.tagsEl.addEventListener("click", (e) => {
      const btn = e.target.closest('[data-testid="customer-tag-remove"]');
      if (btn) this.removeTag(btn.closest('[data-testid="customer-tag"]').dataset.tag);
    });
    this.attrForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveAttr();
    });
    this.attrKey.addEventListener("input", () => this.renderAttrButton());
    this.attrsEl.addEventListener("click", (e) => {
      const row = e.target.closest('[data-testid="customer-attr"]');
      if (!row) return;
      if (e.target.closest('[data-testid="customer-attr-remove"]')) this.removeAttr(row.dataset.key);
      else if (e.target.closest('[data-testid="customer-attr-edit"]')) this.editAttr(row.dataset.key);
    });
    this.consentsEl.addEventListener("click", (e) => {
      const btn = e.target.closest('[data-testid="customer-consent-toggle"]');
      if (btn) this.setConsent(btn.closest('[data-testid="customer-consent"]').dataset.kind, btn.dataset.grant === "true");
    });
    this.noteForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.addNote();
    });
    this.noteInput.addEventListener("keydown", (e) => {
      // Ctrl/Cmd+Enter saves; a plain Enter is a new line in a note.
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) {
        e.preventDefault();
        this.addNote();
      }
    });
  }

  // A live copy of one of the customer's rooms (a `room` event): its status
  // in the list of conversations changes without loading the record again.
  updateRoom(room) {
    const rooms = this.record?.rooms;
    const held = rooms?.find((r) => r.id === room.id);
    if (!held) return;
    const relabelled = room.labels !== undefined && JSON.stringify(room.labels) !== JSON.stringify(held.labels || []);
    if (held.status === room.status && held.updated_at === room.updated_at && !relabelled) return;
    if (room.labels !== undefined) held.labels = room.labels;
    held.status = room.status;
    held.updated_at = room.updated_at || held.updated_at;
    this.renderRooms();
  }

  setRoom(roomId) {
    this.roomId = roomId;
    if (this.record) this.renderRooms();
  }

  set(record) {
    const changed = !this.record || !record || this.record.id !== record.id;
    this.record = record;
    if (changed) {
      // Half-typed input belongs to the customer it was typed for.
      this.tagInput.value = "";
      this.attrKey.value = "";
      this.attrVal.value = "";
      this.noteInput.value = "";
      this.editingKey = null;
      this.showError("");
    }
    this.render();
  }

  rerender() {
    for (const el of this.root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of this.head.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
    for (const el of this.root.querySelectorAll("[data-i18n-placeholder]")) {
      el.placeholder = t(el.dataset.i18nPlaceholder);
      el.setAttribute("aria-label", el.placeholder);
    }
    this.render();
  }

  render() {
    const c = this.record;
    if (!c) return;
    const name = displayName(c);
    setText(this.nameEl, name);
    this.avatar.style.setProperty("--hue", hueOf(c.id));
    setText(this.avatar, c.erased ? "–" : initials(name));
    updateSegmentBadge(this.segmentEl, segmentOf(c));
    const stage = c.rfm?.lifecycle || "prospect";
    setAttr(this.lifecycleEl, "data-lifecycle", stage);
    setText(this.lifecycleEl, lifecycleLabel(stage));
    // "Prospect" twice says nothing; the stage shows once someone has bought.
    this.lifecycleEl.hidden = stage === "prospect" && segmentOf(c) === "prospect";
    if (this.openLink) setAttr(this.openLink, "href", customerUrl(c.id, this.roomId));
    setAttr(this.root, "data-customer-id", c.id);
    setAttr(this.root, "data-erased", c.erased ? "true" : null);

    this.badgesEl.hidden = Boolean(c.erased);
    this.erasedEl.hidden = !c.erased;
    setText(this.erasedEl, c.erased ? t("crm.erasedNotice") : "");
    for (const form of this.editables) form.hidden = Boolean(c.erased);

    const fact = (key, value, title) => {
      const dd = this.facts[key];
      setText(dd, value || "—");
      dd.classList.toggle("muted", !value);
      setAttr(dd, "title", title || null);
    };
    fact("email", c.email);
    fact("phone", c.phone);
    fact("external-id", c.external_id);
    fact("first-seen", dateTime(c.first_seen_at), c.first_seen_at);
    // A customer the shop pushed in who never opened the chat was never seen.
    fact("last-seen", c.last_seen_at ? dateTime(c.last_seen_at) : t("crm.neverSeen"), c.last_seen_at);

    setText(this.ltvEl, money(c.total_spent, c.currency));
    setAttr(this.ltvEl, "data-amount", String(c.total_spent ?? 0));
    setText(this.ordersCountEl, String(c.orders_count || 0));
    this.renderRfm(c.rfm || {});
    this.renderOrders(c.orders || []);
    this.renderRooms();
    this.renderTags(c.tags || []);
    this.renderAttrs(c.attributes || {});
    this.renderNotes(c.notes || []);
    this.renderConsents(c.consents || []);
  }

  renderRfm(rfm) {
    const parts = [
      ["r", "crm.rfm.r"],
      ["f", "crm.rfm.f"],
      ["m", "crm.rfm.m"],
    ].map(([k, hint]) => {
      const score = Number(rfm[k]) || 0;
      return h(
        "span",
        { class: "crm-rfm__score", "data-score": String(score), title: t(hint) },
        h("span", { class: "crm-rfm__letter", text: k.toUpperCase() }),
        h("span", { class: "crm-rfm__value", text: score ? String(score) : "–" }),
      );
    });
    this.rfmEl.replaceChildren(...parts);
  }

  renderOrders(orders) {
    const shown = orders.slice(0, ORDERS_SHOWN);
    this.ordersEl.replaceChildren(
      ...shown.map((o) => {
        const count = (o.items || []).reduce((n, it) => n + (Number(it.quantity) || 0), 0);
        return h(
          "li",
          { class: "crm-order", "data-testid": "customer-order", "data-order-id": o.order_id },
          h(
            "div",
            { class: "crm-order__top" },
            h("span", { class: "crm-order__id", text: `#${o.order_id}` }),
            h("strong", { class: "crm-order__total", text: money(o.total, o.currency) }),
          ),
          h(
            "div",
            { class: "crm-order__sub muted small" },
            h("time", { datetime: o.placed_at, title: dateTime(o.placed_at), text: dateOnly(o.placed_at) }),
            h("span", { text: t(count === 1 ? "crm.items1" : "crm.items", { n: count }) }),
          ),
        );
      }),
    );
    this.ordersEmpty.hidden = orders.length > 0;
    this.ordersEl.hidden = orders.length === 0;
    if (orders.length > ORDERS_SHOWN && this.variant === "sidebar") {
      this.ordersEl.append(
        h(
          "li",
          { class: "crm-more" },
          h("a", { href: customerUrl(this.record.id), text: t("crm.moreOrders", { n: orders.length - ORDERS_SHOWN }) }),
        ),
      );
    }
  }

  renderRooms() {
    const c = this.record;
    const rooms = c.rooms || [];
    const shown = this.variant === "sidebar" ? rooms.slice(0, ROOMS_SHOWN) : rooms;
    this.roomsEl.replaceChildren(
      ...shown.map((r) => {
        const current = r.id === this.roomId;
        // From a conversation, a past one opens on the customer page (all of
        // it in the timeline); from the customer page, in the inbox.
        const href =
          this.variant === "sidebar"
            ? customerUrl(c.id, r.id)
            : r.kind === "private"
              ? `/console#room=${encodeURIComponent(r.id)}`
              : customerUrl(c.id, r.id);
        // A conversation the shopper left for a new one (docs/protocol.md, "Several conversations").
        const label = r.kind === "public" ? t("crm.publicRoom") : r.superseded_at ? t("crm.pastConversation") : t("crm.privateRoom");
        return h(
          "li",
          { class: "crm-room", "data-testid": "customer-room", "data-room-id": r.id, "data-current": current ? "true" : null, "data-past": r.superseded_at ? "true" : null },
          h(
            "a",
            { class: "crm-room__link", href },
            h("span", { class: "pill", "data-status": r.status, text: t(`room.${r.status}`) }),
            h("span", { class: "crm-room__label", text: current ? t("crm.thisConversation") : label }),
            h("time", { class: "crm-room__time muted small", datetime: r.updated_at, title: dateTime(r.updated_at), text: dateOnly(r.updated_at) }),
          ),
          // The conversation's labels (docs/protocol.md, "Labels").
          ...(r.labels || []).map((x) => labelChip(x)),
        );
      }),
    );
    this.roomsEmpty.hidden = rooms.length > 0;
    this.roomsEl.hidden = rooms.length === 0;
  }

  renderTags(tags) {
    this.tagsEl.replaceChildren(
      ...tags.map((tag) =>
        h(
          "li",
          { class: "crm-tag", "data-testid": "customer-tag", "data-tag": tag },
          h("span", { class: "crm-tag__text", text: tag }),
          this.record.erased
            ? null
            : h("button", {
                type: "button",
                class: "crm-tag__remove",
                "data-testid": "customer-tag-remove",
                title: t("crm.tagRemove", { tag }),
                "aria-label": t("crm.tagRemove", { tag }),
                text: "×",
              }),
        ),
      ),
    );
    if (!tags.length) this.tagsEl.append(h("li", { class: "crm-empty muted small", text: t("crm.noTags") }));
  }

  renderAttrs(attrs) {
    const keys = Object.keys(attrs).sort((a, b) => a.localeCompare(b));
    this.attrsEl.replaceChildren(
      ...keys.map((key) =>
        h(
          "li",
          { class: "crm-attr", "data-testid": "customer-attr", "data-key": key, "data-editing": key === this.editingKey ? "true" : null },
          h("span", { class: "crm-attr__key", text: key }),
          h("span", { class: "crm-attr__value", "data-testid": "customer-attr-val", text: attrText(attrs[key]) }),
          this.record.erased
            ? null
            : h(
                "span",
                { class: "crm-attr__actions" },
                h("button", {
                  type: "button",
                  class: "icon-btn icon-btn--small",
                  "data-testid": "customer-attr-edit",
                  title: t("crm.attrEdit"),
                  "aria-label": t("crm.attrEdit"),
                  text: "✎",
                }),
                h("button", {
                  type: "button",
                  class: "icon-btn icon-btn--small",
                  "data-testid": "customer-attr-remove",
                  title: t("crm.attrRemove", { key }),
                  "aria-label": t("crm.attrRemove", { key }),
                  text: "×",
                }),
              ),
        ),
      ),
    );
    this.attrsEmpty.hidden = keys.length > 0;
    this.attrsEl.hidden = keys.length === 0;
    this.renderAttrButton();
  }

  renderAttrButton() {
    const key = this.attrKey.value.trim();
    const exists = Boolean(this.record && key && Object.hasOwn(this.record.attributes || {}, key));
    setText(this.attrAdd, t(exists ? "crm.attrSave" : "crm.add"));
  }

  renderNotes(notes) {
    this.notesEl.replaceChildren(
      ...notes.map((n) =>
        h(
          "li",
          { class: "crm-note", "data-testid": "customer-note", "data-note-id": n.id },
          h("p", { class: "crm-note__body", text: n.body }),
          h(
            "div",
            { class: "crm-note__meta muted small" },
            h("span", { class: "crm-note__author", text: n.author?.name || "" }),
            h("time", { datetime: n.created_at, title: dateTime(n.created_at), text: dateTime(n.created_at) }),
          ),
        ),
      ),
    );
    this.notesEmpty.hidden = notes.length > 0;
  }

  renderConsents(consents) {
    const marketing = consents.find((c) => c.kind === "marketing");
    const rows = consents.length ? consents : [{ kind: "marketing", granted: null }];
    if (!marketing && consents.length) rows.unshift({ kind: "marketing", granted: null });
    this.consentsEl.replaceChildren(
      ...rows.map((c) => {
        const state = c.granted === true ? "granted" : c.granted === false ? "refused" : "unknown";
        const mark = state === "granted" ? "✓" : state === "refused" ? "✗" : "?";
        const detail =
          state === "unknown"
            ? t("consent.unknown")
            : [t(`consent.${state}`), dateTime(c.at), consentSource(c.source)].filter(Boolean).join(" · ");
        const grant = state !== "granted";
        const toggle =
          this.owner && !this.record.erased
            ? h(
                "span",
                { class: "crm-consent__actions" },
                h("button", {
                  type: "button",
                  class: "btn btn--small",
                  "data-testid": "customer-consent-toggle",
                  "data-grant": String(grant),
                  text: t(grant ? "consent.record" : "consent.withdraw"),
                }),
              )
            : null;
        return h(
          "li",
          { class: "crm-consent", "data-testid": "customer-consent", "data-kind": c.kind, "data-state": state },
          h("span", { class: "crm-consent__mark", "aria-hidden": "true", text: mark }),
          h("span", { class: "crm-consent__kind", text: consentKind(c.kind) }),
          h("span", { class: "crm-consent__detail muted small", text: detail, title: c.at || null }),
          toggle,
        );
      }),
    );
  }

  // ---- edits -------------------------------------------------------------

  showError(text) {
    this.errorEl.hidden = !text;
    setText(this.errorEl, text || "");
  }

  async run(work, button) {
    if (this.busy || !this.record) return false;
    this.busy = true;
    this.showError("");
    const buttons = [this.tagAdd, this.attrAdd, this.noteAdd];
    for (const b of buttons) b.disabled = true;
    setAttr(this.root, "aria-busy", "true");
    try {
      await work(this.record.id);
      return true;
    } catch (err) {
      if (err.status === 404) this.showError(t("crm.missing"));
      else if (err.status !== 401) {
        this.showError(errorText(err.code) + (err.message && err.code === "bad_request" ? ` (${err.message})` : ""));
      }
      return false;
    } finally {
      this.busy = false;
      for (const b of buttons) b.disabled = false;
      setAttr(this.root, "aria-busy", null);
      // Whatever happened, show what the server now holds.
      try {
        await this.reload?.();
      } catch (err) {
        if (err.status !== 401) showToast(errorText(err.code));
      }
      button?.focus();
    }
  }

  async addTag() {
    const raw = this.tagInput.value.trim().toLowerCase();
    if (!raw) return;
    if (raw.length > MAX_TAG) {
      this.showError(t("crm.tagTooLong", { n: MAX_TAG }));
      return;
    }
    const ok = await this.run(async (id) => {
      // Tags are replaced as a list: start from what is stored now, not from
      // what this page loaded, so a colleague's tag added meanwhile stays.
      const fresh = await getCustomer(id);
      const tags = fresh.tags || [];
      if (!tags.includes(raw)) await patchCustomer(id, { tags: [...tags, raw] });
    }, this.tagInput);
    if (ok) this.tagInput.value = "";
  }

  async removeTag(tag) {
    await this.run(async (id) => {
      const fresh = await getCustomer(id);
      await patchCustomer(id, { tags: (fresh.tags || []).filter((x) => x !== tag) });
    }, this.tagInput);
  }

  editAttr(key) {
    const attrs = this.record?.attributes || {};
    if (!Object.hasOwn(attrs, key)) return;
    this.editingKey = key;
    this.attrKey.value = key;
    this.attrVal.value = String(attrs[key]);
    this.renderAttrs(attrs);
    this.attrVal.focus();
    this.attrVal.select();
  }

  async saveAttr() {
    const key = this.attrKey.value.trim();
    const typed = this.attrVal.value.trim();
    if (!key) {
      this.attrKey.focus();
      return;
    }
    if (!ATTR_KEY.test(key)) {
      this.showError(t("crm.attrKeyInvalid"));
      this.attrKey.focus();
      return;
    }
    if (!typed) {
      this.showError(t("crm.attrValueRequired"));
      this.attrVal.focus();
      return;
    }
    const previous = this.record?.attributes?.[key];
    const ok = await this.run(
      (id) => patchCustomer(id, { attributes: { [key]: attrValue(typed, previous) } }),
      this.attrKey,
    );
    if (ok) {
      this.attrKey.value = "";
      this.attrVal.value = "";
      this.editingKey = null;
      this.renderAttrButton();
    }
  }

  async removeAttr(key) {
    await this.run((id) => patchCustomer(id, { attributes: { [key]: null } }), this.attrKey);
    if (this.editingKey === key) {
      this.editingKey = null;
      this.attrKey.value = "";
      this.attrVal.value = "";
    }
  }

  // Given (true) or withdrawn (false) now, from the console (the server records when and where).
  async setConsent(kind, granted) {
    const ok = await this.run((id) => patchCustomer(id, { consent: { [kind]: granted } }));
    if (ok) showToast(t(granted ? "consent.recorded" : "consent.withdrawn"));
  }

  async addNote() {
    const body = this.noteInput.value.trim();
    if (!body) {
      this.noteInput.focus();
      return;
    }
    const ok = await this.run((id) => addCustomerNote(id, body), this.noteInput);
    if (ok) this.noteInput.value = "";
  }
}

function bootRole() {
  try {
    return JSON.parse(document.getElementById("sapa-boot")?.textContent || "{}").agent?.role || "";
  } catch {
    return "";
  }
}
