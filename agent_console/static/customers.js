// The customers pages. /console/customers: the site's customers, searchable and
// filterable by segment, tag and attribute, a page at a time.
// /console/customers/{id}: one customer's record (the same editable panels as
// the conversation sidebar) and their whole history, oldest first — every
// message of their conversations and public posts, orders, FAQ answers and
// ratings — with export and, for owners, erasure.

import { t, onLocaleChange, relativeTime, eventText } from "./i18n.js";
import { h, setText, setAttr } from "./dom.js";
import { showToast, errorText } from "./shell.js";
import { startPage } from "./page_shell.js";
import { CustomerRecord } from "./customer_record.js";
import { filesNode } from "./attachments.js";
import {
  SEGMENTS,
  customerTimeline,
  customerUrl,
  dateTime,
  dayLabel,
  displayName,
  eraseCustomer,
  exportUrl,
  getCustomer,
  listCustomers,
  money,
  segmentBadge,
  segmentOf,
  segmentLabel,
  timeOnly,
} from "./crm.js";

const PAGE_SIZE = 50;
const SEARCH_DEBOUNCE_MS = 300;
const TIMELINE_LIMIT = 500;
const TIMELINE_ALL = 5000;
// Typing either word confirms an erasure, whatever language the console is in.
const ERASE_WORDS = ["HAPUS", "ERASE"];

// ---- the list ---------------------------------------------------------------------

class CustomerList {
  constructor(shell) {
    this.shell = shell;
    const q = (sel) => document.querySelector(sel);
    this.view = q("#customers-list-view");
    this.search = q('[data-testid="customers-search"]');
    this.segment = q('[data-testid="customers-segment"]');
    this.tag = q('[data-testid="customers-tag"]');
    this.attr = q('[data-testid="customers-attr"]');
    this.clear = q('[data-testid="customers-clear"]');
    this.rows = q("#customers-rows");
    this.empty = q("#customers-empty");
    this.total = q('[data-testid="customers-total"]');
    this.range = q("#customers-range");
    this.prev = q('[data-testid="customers-prev"]');
    this.next = q('[data-testid="customers-next"]');
    this.filters = { q: "", segment: "", tag: "", attr: "", offset: 0 };
    this.result = null;
    this.failed = false;
    this.seq = 0;
    this.abort = null;
    this.timer = null;
  }

  start() {
    this.view.hidden = false;
    const params = new URLSearchParams(location.search);
    for (const k of ["q", "segment", "tag", "attr"]) this.filters[k] = params.get(k) || "";
    this.filters.offset = Math.max(0, Number(params.get("offset")) || 0);
    if (!SEGMENTS.includes(this.filters.segment)) this.filters.segment = "";
    this.search.value = this.filters.q;
    this.tag.value = this.filters.tag;
    this.attr.value = this.filters.attr;
    this.renderSegmentOptions();
    this.wire();
    onLocaleChange(() => {
      this.renderSegmentOptions();
      this.render();
    });
    this.load();
  }

  wire() {
    const later = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.apply(), SEARCH_DEBOUNCE_MS);
    };
    for (const input of [this.search, this.tag, this.attr]) {
      input.addEventListener("input", later);
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.isComposing) {
          e.preventDefault();
          clearTimeout(this.timer);
          this.apply();
        }
      });
    }
    this.segment.addEventListener("change", () => this.apply());
    this.clear.addEventListener("click", () => {
      this.search.value = "";
      this.tag.value = "";
      this.attr.value = "";
      this.segment.value = "";
      this.apply();
      this.search.focus();
    });
    document.getElementById("customers-filters").addEventListener("submit", (e) => e.preventDefault());
    this.prev.addEventListener("click", () => this.page(-1));
    this.next.addEventListener("click", () => this.page(1));
    // A click anywhere on a row opens the customer; the name is the real link.
    this.rows.addEventListener("click", (e) => {
      if (e.target.closest("a")) return;
      const row = e.target.closest('[data-testid="customers-row"]');
      if (row && !window.getSelection()?.toString()) location.assign(customerUrl(row.dataset.customerId));
    });
  }

  renderSegmentOptions() {
    const value = this.filters.segment;
    this.segment.replaceChildren(
      h("option", { value: "", text: t("customers.allSegments") }),
      ...SEGMENTS.map((s) => h("option", { value: s, text: segmentLabel(s) })),
    );
    this.segment.value = value;
  }

  // "key:value" — anything else is not a filter the server understands.
  attrFilter() {
    const raw = this.attr.value.trim();
    if (!raw) return { value: "", valid: true };
    const i = raw.indexOf(":");
    const valid = i > 0 && i < raw.length - 1;
    return { value: valid ? `${raw.slice(0, i).trim()}:${raw.slice(i + 1).trim()}` : "", valid };
  }

  apply() {
    const attr = this.attrFilter();
    setAttr(this.attr, "aria-invalid", attr.valid ? null : "true");
    const next = {
      q: this.search.value.trim(),
      segment: this.segment.value,
      tag: this.tag.value.trim().toLowerCase(),
      attr: attr.value,
      offset: 0,
    };
    const same = ["q", "segment", "tag", "attr"].every((k) => next[k] === this.filters[k]);
    if (same) return;
    this.filters = next;
    this.load();
  }

  page(delta) {
    const total = this.result?.total || 0;
    const offset = Math.min(Math.max(0, this.filters.offset + delta * PAGE_SIZE), Math.max(0, total - 1));
    if (offset === this.filters.offset) return;
    this.filters.offset = offset;
    this.load();
    this.view.querySelector(".table-wrap").scrollTop = 0;
  }

  syncUrl() {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(this.filters)) if (v) qs.set(k, String(v));
    const url = `${location.pathname}${qs.toString() ? `?${qs}` : ""}`;
    if (url !== `${location.pathname}${location.search}`) history.replaceState(null, "", url);
  }

  async load() {
    const seq = ++this.seq;
    this.abort?.abort();
    const ctrl = new AbortController();
    this.abort = ctrl;
    this.syncUrl();
    setAttr(this.view, "aria-busy", "true");
    const { q, segment, tag, attr, offset } = this.filters;
    try {
      const result = await listCustomers({ q, segment, tag, attr, limit: PAGE_SIZE, offset }, ctrl.signal);
      if (seq !== this.seq) return;
      this.result = { items: result.items || [], total: Number(result.total) || 0, offset };
      this.failed = false;
    } catch (err) {
      if (ctrl.signal.aborted || seq !== this.seq) return;
      this.failed = true;
      if (err.status !== 401) showToast(errorText(err.code));
    }
    setAttr(this.view, "aria-busy", "false");
    this.render();
  }

  render() {
    const filtered = Boolean(this.filters.q || this.filters.segment || this.filters.tag || this.filters.attr);
    this.clear.hidden = !filtered;
    const r = this.result;
    const items = r?.items || [];
    this.rows.replaceChildren(...items.map((c) => this.row(c)));
    let empty = "";
    if (this.failed && !r) empty = t("customers.loadFailed");
    else if (!r) empty = t("customers.loading");
    else if (!items.length) empty = filtered ? t("customers.emptyFiltered") : t("customers.empty");
    setText(this.empty, empty);
    this.empty.hidden = !empty;
    const total = r?.total ?? 0;
    setText(this.total, r ? t(total === 1 ? "customers.total1" : "customers.total", { n: total.toLocaleString("id-ID") }) : "");
    setAttr(this.total, "data-total", r ? String(total) : null);
    const from = r && items.length ? r.offset + 1 : 0;
    const to = r ? r.offset + items.length : 0;
    setText(this.range, r && total ? t("customers.range", { from, to, n: total }) : "");
    this.prev.disabled = !r || r.offset === 0;
    this.next.disabled = !r || to >= total;
    this.prev.parentElement.hidden = !r || total <= PAGE_SIZE;
  }

  row(c) {
    const name = displayName(c);
    const nameCell = h(
      "td",
      { class: "cust-table__name" },
      h("a", { href: customerUrl(c.id), "data-testid": "customers-row-link", text: name }),
      c.external_id ? h("span", { class: "muted small cust-table__ext", text: c.external_id }) : null,
    );
    const lastSeen = h("time", { datetime: c.last_seen_at, title: dateTime(c.last_seen_at), text: relativeTime(c.last_seen_at) });
    return h(
      "tr",
      { "data-testid": "customers-row", "data-customer-id": c.id, "data-segment": segmentOf(c) },
      nameCell,
      h("td", { class: "cust-table__email", text: c.email || "" }),
      h("td", {}, segmentBadge(segmentOf(c), "customers-row-segment")),
      h("td", { class: "num", text: String(c.orders_count || 0) }),
      h("td", { class: "num cust-table__ltv", text: c.orders_count ? money(c.total_spent, c.currency) : "—" }),
      h("td", { class: "muted" }, lastSeen),
    );
  }
}

// ---- one customer -------------------------------------------------------------------

class CustomerPage {
  constructor(shell, customerId) {
    this.shell = shell;
    this.id = customerId;
    this.owner = shell.boot.agent.role === "owner";
    const q = (sel) => document.querySelector(sel);
    this.view = q("#customer-view");
    this.status = q("#customer-status");
    this.body = q("#customer-body");
    this.exportLink = q('[data-testid="customer-export"]');
    this.eraseBtn = q('[data-testid="customer-erase"]');
    this.timelineEl = q('[data-testid="timeline"]');
    this.timelineEmpty = q("#timeline-empty");
    this.timelineCount = q("#timeline-count");
    this.timelineMore = q("#timeline-more");
    this.record = new CustomerRecord(q("#customer-record"), {
      variant: "page",
      headRoot: q("#customer-who"),
      reload: () => this.loadRecord(),
    });
    this.customer = null;
    this.timeline = null;
    this.timelineLimit = TIMELINE_LIMIT;
    this.highlightRoom = new URLSearchParams(location.hash.slice(1)).get("room");
  }

  start() {
    this.view.hidden = false;
    this.exportLink.href = exportUrl(this.id);
    this.exportLink.setAttribute("download", `customer-${this.id}.json`);
    this.timelineMore.addEventListener("click", () => {
      this.timelineLimit = TIMELINE_ALL;
      this.loadTimeline();
    });
    if (this.eraseBtn) this.setupErase();
    onLocaleChange(() => {
      this.record.rerender();
      this.renderTimeline();
      this.renderErasePrompt();
      this.updateTitle();
    });
    this.setStatus(t("crm.loading"));
    this.load();
  }

  setStatus(text) {
    setText(this.status, text || "");
    this.status.hidden = !text;
  }

  async load() {
    await Promise.all([this.loadRecord({ first: true }), this.loadTimeline()]);
  }

  async loadRecord({ first = false } = {}) {
    try {
      this.customer = await getCustomer(this.id);
    } catch (err) {
      if (err.status === 401) return;
      if (first) {
        this.setStatus(err.status === 404 ? t("crm.missing") : t("crm.loadFailed"));
        this.body.hidden = true;
      } else {
        showToast(errorText(err.code));
      }
      return;
    }
    this.setStatus("");
    this.body.hidden = false;
    this.record.set(this.customer);
    if (this.eraseBtn) this.eraseBtn.hidden = Boolean(this.customer.erased);
    this.updateTitle();
  }

  updateTitle() {
    if (this.customer) this.shell.setTitle(displayName(this.customer));
  }

  async loadTimeline() {
    setAttr(this.timelineEl, "aria-busy", "true");
    try {
      const d = await customerTimeline(this.id, this.timelineLimit);
      this.timeline = { items: chronological(d.items || []), has_more: Boolean(d.has_more) };
    } catch (err) {
      if (err.status === 401) return;
      if (!this.timeline) this.timeline = { items: [], has_more: false, failed: true };
      if (err.status !== 404) showToast(errorText(err.code));
    }
    setAttr(this.timelineEl, "aria-busy", "false");
    this.renderTimeline();
  }

  renderTimeline() {
    const tl = this.timeline;
    if (!tl) return;
    const out = [];
    let day = "";
    for (const item of tl.items) {
      const d = dayLabel(item.at);
      if (d && d !== day) {
        day = d;
        out.push(h("li", { class: "timeline__day", "aria-hidden": "true" }, h("span", { text: d })));
      }
      out.push(timelineItem(item));
    }
    this.timelineEl.replaceChildren(...out);
    const n = tl.items.length;
    setText(this.timelineCount, n ? t(n === 1 ? "timeline.count1" : "timeline.count", { n }) : "");
    this.timelineEmpty.hidden = n > 0;
    setText(this.timelineEmpty, tl.failed ? t("timeline.failed") : t("timeline.empty"));
    this.timelineMore.hidden = !tl.has_more;
    if (tl.has_more) setText(this.timelineMore, t("timeline.loadAll"));
    if (this.highlightRoom) {
      const items = this.timelineEl.querySelectorAll(`[data-room-id="${CSS.escape(this.highlightRoom)}"]`);
      for (const el of items) el.classList.add("tl-item--highlight");
      items[0]?.scrollIntoView({ block: "nearest" });
      this.highlightRoom = null;
    }
  }

  // ---- erasure (owners) ---------------------------------------------------------

  setupErase() {
    this.dialog = document.getElementById("erase-dialog");
    this.eraseForm = document.getElementById("erase-form");
    this.eraseInput = document.getElementById("erase-input");
    this.eraseConfirm = document.getElementById("erase-confirm");
    this.eraseError = document.getElementById("erase-error");
    this.renderErasePrompt();
    this.eraseBtn.addEventListener("click", () => {
      this.eraseInput.value = "";
      this.eraseConfirm.disabled = true;
      this.eraseError.hidden = true;
      this.renderErasePrompt();
      this.dialog.showModal();
      this.eraseInput.focus();
    });
    this.eraseInput.addEventListener("input", () => {
      this.eraseConfirm.disabled = !ERASE_WORDS.includes(this.eraseInput.value.trim().toUpperCase());
    });
    document.getElementById("erase-cancel").addEventListener("click", () => this.dialog.close());
    this.eraseForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.erase();
    });
  }

  renderErasePrompt() {
    const prompt = document.getElementById("erase-prompt");
    if (!prompt) return;
    const word = t("erase.word");
    const name = this.customer ? displayName(this.customer) : "";
    setText(document.getElementById("erase-title"), t("erase.title", { name }));
    setText(prompt, t("erase.prompt", { word }));
    this.eraseInput.placeholder = word;
  }

  async erase() {
    if (!ERASE_WORDS.includes(this.eraseInput.value.trim().toUpperCase())) return;
    this.eraseConfirm.disabled = true;
    setText(this.eraseConfirm, t("erase.busy"));
    try {
      await eraseCustomer(this.id);
    } catch (err) {
      this.eraseConfirm.disabled = false;
      setText(this.eraseConfirm, t("erase.confirm"));
      this.eraseError.hidden = false;
      setText(this.eraseError, errorText(err.code));
      return;
    }
    setText(this.eraseConfirm, t("erase.confirm"));
    this.dialog.close();
    showToast(t("erase.done"));
    await Promise.all([this.loadRecord(), this.loadTimeline()]);
  }
}

// ---- timeline items -------------------------------------------------------------------

// Oldest first. Messages written in the same millisecond (an agent's first
// reply and the "assigned" event it causes) keep their order in the room.
function chronological(items) {
  return items
    .map((item, i) => ({ item, i, at: Date.parse(item.at) || 0 }))
    .sort((a, b) => {
      if (a.at !== b.at) return a.at - b.at;
      const ma = a.item.message;
      const mb = b.item.message;
      if (ma && mb && a.item.room_id === b.item.room_id) return (ma.seq || 0) - (mb.seq || 0);
      return a.i - b.i;
    })
    .map((x) => x.item);
}

function timelineItem(item) {
  switch (item.kind) {
    case "message":
      return messageItem(item);
    case "order":
      return orderItem(item);
    case "faq":
      return faqItem(item);
    case "rating":
      return ratingItem(item);
    case "email":
      return emailItem(item);
    default:
      return genericItem(item);
  }
}

function when(iso) {
  return h("time", { class: "tl-time", datetime: iso, title: dateTime(iso), text: timeOnly(iso) });
}

function roomChip(item) {
  if (item.room_kind === "public") {
    return h("span", { class: "tl-room tl-room--public", text: item.room_name ? t("timeline.publicNamed", { name: item.room_name }) : t("crm.publicRoom") });
  }
  return h("span", { class: "tl-room", text: t("crm.privateRoom") });
}

function messageItem(item) {
  const m = item.message || {};
  const author = m.author || {};
  const attrs = {
    class: "tl-item tl-item--message",
    "data-testid": "timeline-item",
    "data-kind": item.kind,
    "data-message-kind": m.kind,
    "data-author-kind": author.kind,
    "data-room-id": item.room_id,
    "data-room-kind": item.room_kind,
  };
  if (m.kind === "event") {
    attrs.class = "tl-item tl-item--event";
    return h(
      "li",
      attrs,
      h("span", { class: "tl-event__body", text: author.kind === "system" ? eventText(m) : m.body || "" }),
      when(item.at),
    );
  }
  const who =
    author.kind === "customer"
      ? t("timeline.customer", { name: author.name || t("visitor") })
      : author.kind === "agent"
        ? author.name || t("timeline.agent")
        : t("timeline.system");
  if (m.kind === "note") attrs.class += " tl-item--note";
  attrs.class += author.kind === "customer" ? " tl-item--in" : " tl-item--out";
  return h(
    "li",
    attrs,
    h(
      "div",
      { class: "tl-meta" },
      roomChip(item),
      m.kind === "note" ? h("span", { class: "tl-note-label", text: t("conv.note") }) : null,
      h("span", { class: "tl-author", text: who }),
      when(item.at),
    ),
    m.attachments?.length ? filesNode(m.attachments) : null,
    m.body ? h("p", { class: "tl-body", text: m.body }) : null,
  );
}

function orderItem(item) {
  const o = item.order || {};
  const lines = o.items || [];
  const count = lines.reduce((n, it) => n + (Number(it.quantity) || 0), 0);
  return h(
    "li",
    { class: "tl-item tl-item--order", "data-testid": "timeline-item", "data-kind": "order", "data-order-id": o.order_id },
    h(
      "div",
      { class: "tl-card" },
      h(
        "div",
        { class: "tl-card__top" },
        h("span", { class: "tl-card__kind", text: t("timeline.orderKind") }),
        h("strong", { class: "tl-card__title", text: `#${o.order_id}` }),
        h("strong", { class: "tl-card__total", text: money(o.total, o.currency) }),
      ),
      h(
        "div",
        { class: "tl-card__sub muted small" },
        h("span", { text: t(count === 1 ? "crm.items1" : "crm.items", { n: count }) }),
        h("span", { text: "·" }),
        h("time", { datetime: item.at, title: dateTime(item.at), text: dateTime(item.at) }),
      ),
      lines.length
        ? h(
            "ul",
            { class: "tl-card__lines" },
            ...lines.slice(0, 10).map((it) =>
              h(
                "li",
                {},
                h("span", { class: "tl-line__name", text: `${it.name || it.sku || "?"} × ${it.quantity}` }),
                h("span", { class: "tl-line__price muted", text: money(it.price, o.currency) }),
              ),
            ),
            lines.length > 10 ? h("li", { class: "muted", text: t("timeline.moreLines", { n: lines.length - 10 }) }) : null,
          )
        : null,
    ),
  );
}

function faqItem(item) {
  const f = item.faq || {};
  const event = f.event || "";
  const key = `timeline.faqEvent.${event}`;
  const label = t(key) !== key ? t(key) : event;
  return h(
    "li",
    { class: "tl-item tl-item--faq", "data-testid": "timeline-item", "data-kind": "faq", "data-faq-event": event },
    h("span", { class: "tl-faq__text", text: t("timeline.faq", { q: f.question || t("timeline.faqDeleted"), event: label }) }),
    when(item.at),
  );
}

function ratingItem(item) {
  const r = item.rating || {};
  const score = Math.max(0, Math.min(5, Number(r.score) || 0));
  return h(
    "li",
    { class: "tl-item tl-item--rating", "data-testid": "timeline-item", "data-kind": "rating", "data-score": String(score), "data-room-id": r.room_id },
    h("span", { class: "tl-rating__label", text: t("timeline.rating") }),
    h("span", { class: "stars", role: "img", "aria-label": t("timeline.stars", { n: score }), text: "★".repeat(score) + "☆".repeat(5 - score) }),
    r.comment ? h("q", { class: "tl-rating__comment", text: r.comment }) : null,
    when(item.at),
  );
}

// A mail sent to the customer (with its delivery state) or received from them.
function emailItem(item) {
  const e = item.email || {};
  const out = e.direction === "out";
  const state = out ? e.status : e.outcome;
  const label = out
    ? t("timeline.emailOut", { to: e.to || "", state: t(`timeline.email.${state}`) })
    : t("timeline.emailIn", { from: e.from || "", state: t(`timeline.email.${state}`) });
  return h(
    "li",
    { class: "tl-item tl-item--event", "data-testid": "timeline-item", "data-kind": "email", "data-direction": e.direction, "data-state": state },
    h("span", { class: "tl-event__body", text: `${label}: ${e.subject || ""}` }),
    e.error ? h("span", { class: "muted small", text: ` (${e.error})` }) : null,
    when(item.at),
  );
}

function genericItem(item) {
  const text = item.body || item.event?.body || item.kind || "";
  return h(
    "li",
    { class: "tl-item tl-item--event", "data-testid": "timeline-item", "data-kind": item.kind || "event" },
    h("span", { class: "tl-event__body", text: String(text) }),
    when(item.at),
  );
}

// ---- boot ---------------------------------------------------------------------------

const shell = startPage("nav.customers");
if (shell) {
  const m = /^\/console\/customers\/([^/]+)\/?$/.exec(location.pathname);
  const page = m ? new CustomerPage(shell, decodeURIComponent(m[1])) : new CustomerList(shell);
  page.start();
  // Handy when debugging from the devtools console; nothing depends on it.
  window.sapaCustomers = page;
}

