// The FAQ page: the site's entries in their display order, filters, a side
// form to create and edit them (owners only), import/export, and a preview box
// that shows what the engine would suggest for a shopper's message and why.
//
// Text from the server goes in through textContent; the one exception is an
// entry's `answer_html`, which the server sanitises for exactly this preview.

import { t, translate, toggleLocale, onLocaleChange } from "./i18n.js";
import * as api from "./api.js";
import { h, setText, setAttr, reconcile, resetKeyed } from "./dom.js";
import { readBoot, fillIdentity, showToast, errorText, setNavUnread } from "./shell.js";
import { AgentSocket } from "./socket.js";
import { setTitleCount } from "./notify.js";

const PREVIEW_DEBOUNCE_MS = 250;
const PREVIEW_LIMIT = 3;
// Chat events come in bursts; count unread conversations once per burst.
const UNREAD_REFRESH_MS = 800;

export function pct(score) {
  const s = Math.max(0, Math.min(1, Number(score) || 0));
  return `${Math.round(s * 100)}%`;
}

// Lower case without accents, so "kaos" finds "Kaós" and "medan" finds "Medan".
function fold(s) {
  return String(s || "")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();
}

export function splitTags(text) {
  const seen = new Set();
  const out = [];
  for (const raw of String(text || "").split(/[,|]/)) {
    const tag = raw.trim();
    if (tag && !seen.has(tag.toLowerCase())) {
      seen.add(tag.toLowerCase());
      out.push(tag);
    }
  }
  return out;
}

function haystack(e) {
  return fold(
    [e.question, e.answer, e.category, (e.tags || []).join(" "), (e.phrasings || []).map((p) => p.text).join(" ")].join(
      "\n",
    ),
  );
}

class FaqPage {
  constructor(boot) {
    this.me = boot.agent;
    this.canEdit = boot.agent.role === "owner";
    api.setCsrfToken(boot.csrf_token);
    this.entries = [];
    this.loaded = false;
    this.loadFailed = false;
    this.filters = { q: "", category: "", status: "", lang: "" };
    // The entry shown in the side panel: an id, "new", or null.
    this.selected = null;
    this.draftPhrasings = [];
    this.dirty = false;
    this.saving = false;
    this.previewSeq = 0;
    this.previewAbort = null;
    this.previewTimer = null;
    this.previewResult = null;
    this.previewError = false;
    this.unreadTimer = null;

    const q = (sel) => document.querySelector(sel);
    this.main = q("#faq-main");
    this.list = q("#faq-list");
    this.emptyEl = q("#faq-empty");
    this.countEl = q("#faq-count");
    this.search = q('[data-testid="faq-search"]');
    this.catFilter = q('[data-testid="faq-filter-category"]');
    this.statusFilter = q('[data-testid="faq-filter-status"]');
    this.langFilter = q('[data-testid="faq-filter-lang"]');
    this.placeholder = q("#faq-placeholder");
    this.importInput = q('[data-testid="faq-import-input"]');
    this.importResult = q('[data-testid="faq-import-result"]');
    this.newBtn = q('[data-testid="faq-new"]');
    this.previewInput = q('[data-testid="faq-preview-input"]');
    this.previewList = q("#faq-preview-list");
    this.previewStatus = q("#faq-preview-status");

    // Owners get the form, agents a read-only card (the template has one or the other).
    this.form = this.canEdit ? q("#faq-editor") : null;
    this.detail = this.canEdit ? null : q("#faq-detail");
    if (this.form) {
      const f = this.form;
      this.fields = {
        question: f.querySelector('[data-testid="faq-question"]'),
        answer: f.querySelector('[data-testid="faq-answer"]'),
        category: f.querySelector('[data-testid="faq-category"]'),
        tags: f.querySelector('[data-testid="faq-tags"]'),
        lang: f.querySelector('[data-testid="faq-lang"]'),
        status: f.querySelector('[data-testid="faq-status"]'),
      };
      this.editorTitle = f.querySelector("#faq-editor-title");
      this.phrasingList = f.querySelector("#faq-phrasings");
      this.phrasingHint = f.querySelector("#faq-phrasings-hint");
      this.phrasingInput = f.querySelector('[data-testid="faq-phrasing-input"]');
      this.phrasingAdd = f.querySelector('[data-testid="faq-phrasing-add"]');
      this.renderedWrap = f.querySelector("#faq-rendered-wrap");
      this.rendered = f.querySelector("#faq-rendered");
      this.formError = f.querySelector('[data-testid="faq-form-error"]');
      this.formStatus = f.querySelector('[data-testid="faq-form-status"]');
      this.saveBtn = f.querySelector('[data-testid="faq-save"]');
      this.deleteBtn = f.querySelector('[data-testid="faq-delete"]');
      this.datalist = f.querySelector("#faq-categories");
    } else if (this.detail) {
      this.phrasingList = this.detail.querySelector("#faq-phrasings");
      this.rendered = this.detail.querySelector("#faq-rendered");
    }
  }

  start() {
    this.setupSidebar();
    this.wire();
    const params = new URLSearchParams(location.search);
    if (params.get("q")) {
      this.filters.q = params.get("q");
      this.search.value = this.filters.q;
    }
    onLocaleChange(() => this.rerender());
    window.addEventListener("beforeunload", (e) => {
      if (this.dirty) e.preventDefault();
    });
    this.renderSide();
    this.load();
    this.connect();
  }

  // The agent stays connected (and so "online" for shoppers) while curating
  // the FAQ; the socket also keeps the unread count beside "Conversations".
  connect() {
    this.socket = new AgentSocket({
      url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/agent`,
      onEvent: (frame) => {
        if (frame.type === "message" || frame.type === "room" || frame.type === "read") this.refreshUnread();
      },
      onWelcome: () => this.refreshUnread(0),
      onState: () => {},
      onAuthLost: () => location.assign(api.LOGIN_URL),
    });
    this.socket.connect();
  }

  refreshUnread(delay = UNREAD_REFRESH_MS) {
    clearTimeout(this.unreadTimer);
    this.unreadTimer = setTimeout(async () => {
      try {
        const rooms = await api.listRooms();
        const n = rooms.reduce((sum, r) => sum + (r.unread || 0), 0);
        setNavUnread(n);
        setTitleCount(n, `${t("app.title")} · FAQ`);
      } catch {
        // Only a badge.
      }
    }, delay);
  }

  setupSidebar() {
    fillIdentity({ site: readBoot()?.site, agent: this.me });
    document.getElementById("locale-toggle").addEventListener("click", () => toggleLocale());
    document.querySelector('[data-testid="logout-btn"]').addEventListener("click", async () => {
      // Stop first: the server closes our sockets (4000) as the session ends.
      this.socket?.stop();
      try {
        await api.logout();
      } catch {
        // Gone already; the login page is the right place either way.
      }
      location.assign(api.LOGIN_URL);
    });
  }

  wire() {
    this.search.addEventListener("input", () => {
      this.filters.q = this.search.value;
      this.renderList();
    });
    for (const [sel, key] of [
      [this.catFilter, "category"],
      [this.statusFilter, "status"],
      [this.langFilter, "lang"],
    ]) {
      sel.addEventListener("change", () => {
        this.filters[key] = sel.value;
        this.renderList();
      });
    }
    this.list.addEventListener("click", (e) => this.onListClick(e));
    this.list.addEventListener("keydown", (e) => {
      const main = e.target.closest(".faq-item__main");
      if (main && (e.key === "Enter" || e.key === " ")) {
        e.preventDefault();
        this.select(main.closest('[data-testid="faq-item"]').dataset.faqId);
      }
    });
    document.querySelectorAll("#faq-close, #faq-cancel").forEach((b) =>
      b.addEventListener("click", () => this.select(null)),
    );
    this.previewInput.addEventListener("input", () => this.schedulePreview());
    this.previewList.addEventListener("click", (e) => {
      const open = e.target.closest("[data-open]");
      if (open) this.select(open.dataset.open);
    });
    window.addEventListener("hashchange", () => this.selectFromHash());

    if (!this.canEdit) return;
    this.newBtn.addEventListener("click", () => this.select("new"));
    this.importInput.addEventListener("change", () => this.importFile());
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.save();
    });
    this.form.addEventListener("input", (e) => {
      if (e.target === this.phrasingInput) return;
      this.dirty = true;
      setText(this.formStatus, "");
    });
    this.form.addEventListener("change", (e) => {
      if (e.target !== this.phrasingInput) this.dirty = true;
    });
    this.deleteBtn.addEventListener("click", () => this.remove());
    this.phrasingAdd.addEventListener("click", () => this.addPhrasing());
    this.phrasingInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.isComposing) {
        e.preventDefault();
        this.addPhrasing();
      }
    });
    this.phrasingList.addEventListener("click", (e) => {
      const del = e.target.closest('[data-testid="faq-phrasing-delete"]');
      if (del) this.removePhrasing(del.closest('[data-testid="faq-phrasing"]'));
    });
  }

  // ---- data -------------------------------------------------------------

  async load() {
    try {
      this.entries = sortByPosition(await api.listFaq());
      this.loaded = true;
      this.loadFailed = false;
    } catch (err) {
      this.loadFailed = !this.loaded;
      if (err.status !== 401) showToast(errorText(err.code));
    }
    this.renderList();
    if (this.selected && this.selected !== "new" && !this.byId(this.selected)) this.select(null, { force: true });
    else if (!this.selected) this.selectFromHash();
    else this.renderSide();
  }

  byId(id) {
    return this.entries.find((e) => e.id === id) || null;
  }

  replaceEntry(entry) {
    const i = this.entries.findIndex((e) => e.id === entry.id);
    if (i >= 0) this.entries[i] = entry;
    else this.entries.push(entry);
    this.entries = sortByPosition(this.entries);
  }

  visible() {
    const words = fold(this.filters.q).split(/\s+/).filter(Boolean);
    const { category, status, lang } = this.filters;
    return this.entries.filter((e) => {
      if (category && (e.category || "") !== (category === "\u0000" ? "" : category)) return false;
      if (status && e.status !== status) return false;
      if (lang && e.lang !== lang) return false;
      if (!words.length) return true;
      const hay = haystack(e);
      return words.every((w) => hay.includes(w));
    });
  }

  categories() {
    const counts = new Map();
    for (const e of this.entries) {
      const c = e.category || "";
      counts.set(c, (counts.get(c) || 0) + 1);
    }
    return [...counts].sort((a, b) => a[0].localeCompare(b[0]));
  }

  // ---- list -------------------------------------------------------------

  renderList() {
    this.renderCategoryOptions();
    const items = this.visible();
    const filtered = items.length !== this.entries.length;
    reconcile(
      this.list,
      items,
      (e) => e.id,
      () => this.createItem(),
      (el, e) => this.updateItem(el, e, items),
    );
    setAttr(this.main, "aria-busy", String(!this.loaded && !this.loadFailed));
    let empty = "";
    if (this.loadFailed) empty = t("faq.loadFailed");
    else if (!this.loaded) empty = t("faq.loading");
    else if (!this.entries.length) empty = t(this.canEdit ? "faq.emptyOwner" : "faq.empty");
    else if (!items.length) empty = t("faq.emptyFiltered");
    setText(this.emptyEl, empty);
    this.emptyEl.hidden = !empty;
    setText(
      this.countEl,
      !this.loaded
        ? ""
        : filtered
          ? t("faq.countFiltered", { shown: items.length, n: this.entries.length })
          : t("faq.count", { n: this.entries.length }),
    );
  }

  renderCategoryOptions() {
    const cats = this.categories();
    const wanted = [{ value: "", label: t("faq.allCategories") }].concat(
      cats.map(([name, n]) => ({ value: name || "\u0000", label: `${name || t("faq.noCategory")} (${n})` })),
    );
    const sel = this.catFilter;
    const same =
      sel.options.length === wanted.length &&
      wanted.every((w, i) => sel.options[i].value === w.value && sel.options[i].text === w.label);
    if (!same) {
      sel.replaceChildren(...wanted.map((w) => h("option", { value: w.value, text: w.label })));
    }
    if (!wanted.some((w) => w.value === this.filters.category)) this.filters.category = "";
    sel.value = this.filters.category;
    if (this.datalist) {
      const names = cats.map(([name]) => name).filter(Boolean);
      const have = [...this.datalist.options].map((o) => o.value);
      if (have.join("\n") !== names.join("\n")) {
        this.datalist.replaceChildren(...names.map((n) => h("option", { value: n })));
      }
    }
  }

  createItem() {
    const move = this.canEdit
      ? h(
          "div",
          { class: "faq-item__move" },
          h("button", {
            type: "button",
            class: "icon-btn icon-btn--small",
            "data-testid": "faq-move-up",
            "data-move": "-1",
            text: "▲",
          }),
          h("button", {
            type: "button",
            class: "icon-btn icon-btn--small",
            "data-testid": "faq-move-down",
            "data-move": "1",
            text: "▼",
          }),
        )
      : null;
    return h(
      "li",
      { class: "faq-item", "data-testid": "faq-item" },
      move,
      h(
        "div",
        { class: "faq-item__main", role: "button", tabindex: "0" },
        h("div", { class: "faq-item__q" }),
        h(
          "div",
          { class: "faq-item__meta" },
          h("span", { class: "chip chip--cat" }),
          h("span", { class: "faq-item__lang" }),
          h("span", { class: "faq-item__phr" }),
          h("span", { class: "faq-item__tags" }),
        ),
      ),
      h("span", { class: "status-badge", "data-testid": "faq-status-badge" }),
    );
  }

  updateItem(el, e, items) {
    setAttr(el, "data-faq-id", e.id);
    setAttr(el, "data-status", e.status);
    setAttr(el, "aria-current", this.selected === e.id ? "true" : null);
    setText(el.querySelector(".faq-item__q"), e.question);
    const cat = el.querySelector(".chip--cat");
    setText(cat, e.category || "");
    cat.hidden = !e.category;
    setText(el.querySelector(".faq-item__lang"), (e.lang || "").toUpperCase());
    const n = (e.phrasings || []).length;
    setText(
      el.querySelector(".faq-item__phr"),
      n === 1 ? t("faq.phrasingCount1") : t("faq.phrasingCount", { n }),
    );
    setText(el.querySelector(".faq-item__tags"), (e.tags || []).map((tag) => `#${tag}`).join(" "));
    const badge = el.querySelector(".status-badge");
    setAttr(badge, "data-status", e.status);
    setText(badge, t(`faq.status.${e.status}`));
    if (this.canEdit) {
      const i = items.indexOf(e);
      const up = el.querySelector('[data-move="-1"]');
      const down = el.querySelector('[data-move="1"]');
      up.disabled = i <= 0;
      down.disabled = i >= items.length - 1;
      setAttr(up, "aria-label", `${t("faq.moveUp")}: ${e.question}`);
      setAttr(down, "aria-label", `${t("faq.moveDown")}: ${e.question}`);
      setAttr(up, "title", t("faq.moveUp"));
      setAttr(down, "title", t("faq.moveDown"));
    }
  }

  onListClick(e) {
    const item = e.target.closest('[data-testid="faq-item"]');
    if (!item) return;
    const move = e.target.closest("[data-move]");
    if (move) {
      this.move(item.dataset.faqId, Number(move.dataset.move));
      return;
    }
    if (e.target.closest(".faq-item__main")) this.select(item.dataset.faqId);
  }

  // Swaps an entry with its visible neighbour, then tells the server the whole
  // new order. Optimistic: on failure the list is reloaded from the server.
  async move(id, delta) {
    const items = this.visible();
    const i = items.findIndex((e) => e.id === id);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= items.length) return;
    const order = this.entries.map((e) => e.id);
    const a = order.indexOf(id);
    const b = order.indexOf(items[j].id);
    [order[a], order[b]] = [order[b], order[a]];
    const byId = new Map(this.entries.map((e) => [e.id, e]));
    this.entries = order.map((oid, pos) => ({ ...byId.get(oid), position: pos }));
    this.renderList();
    // Moving a node drops its focus; keep the keyboard on the same button.
    const btn = this.list.querySelector(`[data-faq-id="${CSS.escape(id)}"] [data-move="${delta}"]`);
    if (btn && !btn.disabled) btn.focus();
    else this.list.querySelector(`[data-faq-id="${CSS.escape(id)}"] [data-move="${-delta}"]`)?.focus();
    try {
      await api.reorderFaq(order);
    } catch (err) {
      showToast(errorText(err.code));
      await this.load();
    }
  }

  // ---- side panel ------------------------------------------------------

  selectFromHash() {
    const m = /^#faq=(.+)$/.exec(location.hash);
    if (m && this.byId(decodeURIComponent(m[1]))) this.select(decodeURIComponent(m[1]));
  }

  select(id, { force = false } = {}) {
    if (!force && this.dirty && id !== this.selected && !window.confirm(t("faq.discard"))) return;
    if (id === "new" && !this.canEdit) return;
    this.selected = id;
    this.dirty = false;
    this.draftPhrasings = [];
    const hash = id && id !== "new" ? `#faq=${encodeURIComponent(id)}` : "";
    if (location.hash !== hash) history.replaceState(null, "", `${location.pathname}${location.search}${hash}`);
    if (this.form) this.fillForm();
    this.renderSide();
    this.renderList();
    if (this.form && id) this.fields.question.focus();
  }

  renderSide() {
    const entry = this.selected && this.selected !== "new" ? this.byId(this.selected) : null;
    const open = this.selected === "new" || Boolean(entry);
    this.placeholder.hidden = open;
    if (this.form) {
      this.form.hidden = !open;
      if (open) this.renderFormChrome(entry);
    } else if (this.detail) {
      this.detail.hidden = !entry;
      if (entry) this.renderDetail(entry);
    }
  }

  // Copies an entry (or blanks, for a new one) into the form fields.
  fillForm() {
    const entry = this.selected && this.selected !== "new" ? this.byId(this.selected) : null;
    const f = this.fields;
    f.question.value = entry?.question || "";
    f.answer.value = entry?.answer || "";
    f.category.value = entry?.category || this.filters.category.replace("\u0000", "") || "";
    f.tags.value = (entry?.tags || []).join(", ");
    f.lang.value = entry?.lang || this.filters.lang || "id";
    f.status.value = entry?.status || "published";
    this.phrasingInput.value = "";
    this.formError.hidden = true;
    setText(this.formStatus, "");
  }

  // Everything in the form that is not an input the owner is typing in.
  renderFormChrome(entry) {
    setText(this.editorTitle, t(entry ? "faq.editTitle" : "faq.newTitle"));
    setText(this.saveBtn, t(entry ? "faq.save" : "faq.create"));
    this.deleteBtn.hidden = !entry;
    setText(this.phrasingHint, t(entry ? "faq.phrasingsHintEdit" : "faq.phrasingsHintNew"));
    this.renderPhrasings(entry ? entry.phrasings || [] : this.draftPhrasings.map((text, i) => ({ id: `draft-${i}`, text, source: "manual" })));
    this.renderedWrap.hidden = !entry;
    // answer_html is sanitised by the server; this is the one place it is used.
    this.rendered.innerHTML = entry ? entry.answer_html || "" : "";
  }

  renderPhrasings(list) {
    if (!list.length) {
      resetKeyed(this.phrasingList);
      this.phrasingList.append(h("li", { class: "phrasings__none muted small", text: t("faq.noPhrasings") }));
      return;
    }
    if (this.phrasingList.querySelector(".phrasings__none")) resetKeyed(this.phrasingList);
    reconcile(
      this.phrasingList,
      list,
      (p) => p.id,
      () => this.createPhrasing(),
      (el, p) => {
        setAttr(el, "data-phrasing-id", p.id);
        setAttr(el, "data-source", p.source || "manual");
        setText(el.querySelector(".phrasing__text"), p.text);
        const tag = el.querySelector(".phrasing__learnt");
        tag.hidden = p.source !== "learnt";
        setText(tag, t("faq.learnt"));
        const del = el.querySelector('[data-testid="faq-phrasing-delete"]');
        if (del) {
          setAttr(del, "aria-label", `${t("faq.phrasingDelete")}: ${p.text}`);
          setAttr(del, "title", t("faq.phrasingDelete"));
        }
      },
    );
  }

  createPhrasing() {
    return h(
      "li",
      { class: "phrasing", "data-testid": "faq-phrasing" },
      h("span", { class: "phrasing__text" }),
      h("span", { class: "chip chip--learnt phrasing__learnt" }),
      this.canEdit
        ? h("button", {
            type: "button",
            class: "icon-btn icon-btn--small",
            "data-testid": "faq-phrasing-delete",
            text: "×",
          })
        : null,
    );
  }

  renderDetail(entry) {
    setText(this.detail.querySelector("#faq-detail-question"), entry.question);
    const meta = this.detail.querySelector("#faq-detail-meta");
    meta.replaceChildren(
      h("span", { class: "status-badge", "data-status": entry.status, text: t(`faq.status.${entry.status}`) }),
      entry.category ? h("span", { class: "chip chip--cat", text: entry.category }) : null,
      h("span", { class: "muted", text: (entry.lang || "").toUpperCase() }),
    );
    const tags = this.detail.querySelector("#faq-detail-tags");
    tags.replaceChildren(...(entry.tags || []).map((tag) => h("span", { class: "chip", text: `#${tag}` })));
    this.rendered.innerHTML = entry.answer_html || "";
    this.renderPhrasings(entry.phrasings || []);
  }

  formFields() {
    const f = this.fields;
    return {
      question: f.question.value.trim(),
      answer: f.answer.value.trim(),
      category: f.category.value.trim(),
      tags: splitTags(f.tags.value),
      lang: f.lang.value,
      status: f.status.value,
    };
  }

  showFormError(text) {
    this.formError.hidden = !text;
    setText(this.formError, text || "");
  }

  async save() {
    if (this.saving) return;
    const fields = this.formFields();
    if (!fields.question || !fields.answer) {
      this.showFormError(t("faq.required"));
      (fields.question ? this.fields.answer : this.fields.question).focus();
      return;
    }
    this.showFormError("");
    this.saving = true;
    this.saveBtn.disabled = true;
    setText(this.formStatus, t("faq.saving"));
    const creating = this.selected === "new";
    try {
      let entry;
      if (creating) {
        if (this.draftPhrasings.length) fields.phrasings = [...this.draftPhrasings];
        entry = await api.createFaq(fields);
      } else {
        entry = await api.updateFaq(this.selected, fields);
      }
      this.replaceEntry(entry);
      this.dirty = false;
      this.selected = entry.id;
      this.draftPhrasings = [];
      history.replaceState(null, "", `${location.pathname}${location.search}#faq=${encodeURIComponent(entry.id)}`);
      this.renderList();
      this.renderSide();
      setText(this.formStatus, t("faq.saved"));
      this.list.querySelector(`[data-faq-id="${CSS.escape(entry.id)}"]`)?.scrollIntoView({ block: "nearest" });
      // The preview may rank differently now.
      if (this.previewInput.value.trim()) this.runPreview();
    } catch (err) {
      setText(this.formStatus, "");
      this.showFormError(this.apiErrorText(err));
    } finally {
      this.saving = false;
      this.saveBtn.disabled = false;
    }
  }

  apiErrorText(err) {
    if (err.code === "not_found") return t("faq.notFound");
    if (err.code === "bad_request" && err.message) return err.message;
    return errorText(err.code);
  }

  async remove() {
    const entry = this.byId(this.selected);
    if (!entry) return;
    if (!window.confirm(t("faq.confirmDelete", { q: entry.question }))) return;
    try {
      await api.deleteFaq(entry.id);
    } catch (err) {
      if (err.code !== "not_found") {
        this.showFormError(this.apiErrorText(err));
        return;
      }
    }
    this.entries = this.entries.filter((e) => e.id !== entry.id);
    this.select(null, { force: true });
    showToast(t("faq.deleted"));
    if (this.previewInput.value.trim()) this.runPreview();
  }

  // Phrasings of a saved entry change at once (their own endpoints); those of
  // a new entry wait for Create.
  async addPhrasing() {
    const text = this.phrasingInput.value.trim();
    if (!text) return;
    if (this.selected === "new") {
      if (!this.draftPhrasings.some((p) => fold(p) === fold(text))) this.draftPhrasings.push(text);
      this.phrasingInput.value = "";
      this.dirty = true;
      this.renderSide();
      this.phrasingInput.focus();
      return;
    }
    const id = this.selected;
    this.phrasingAdd.disabled = true;
    try {
      const entry = await api.addPhrasing(id, text);
      this.mergeSaved(entry);
      this.phrasingInput.value = "";
      this.showFormError("");
    } catch (err) {
      this.showFormError(this.apiErrorText(err));
    } finally {
      this.phrasingAdd.disabled = false;
      this.phrasingInput.focus();
    }
  }

  async removePhrasing(li) {
    if (!li) return;
    const pid = li.dataset.phrasingId;
    if (this.selected === "new") {
      const i = Number(pid.replace("draft-", ""));
      this.draftPhrasings.splice(i, 1);
      resetKeyed(this.phrasingList);
      this.renderSide();
      return;
    }
    try {
      const entry = await api.deletePhrasing(this.selected, pid);
      this.mergeSaved(entry);
    } catch (err) {
      this.showFormError(this.apiErrorText(err));
    }
  }

  // A phrasing change returns the whole entry; take its phrasings (and the
  // list row) without overwriting what the owner is typing in the form.
  mergeSaved(entry) {
    if (!entry || !entry.id) return;
    const current = this.byId(entry.id);
    this.replaceEntry(current ? { ...current, phrasings: entry.phrasings, updated_at: entry.updated_at } : entry);
    this.renderList();
    this.renderSide();
  }

  // ---- import ----------------------------------------------------------

  async importFile() {
    const file = this.importInput.files && this.importInput.files[0];
    if (!file) return;
    this.importInput.value = "";
    const ext = (/\.([a-z0-9]+)$/i.exec(file.name)?.[1] || "").toLowerCase();
    const format = ext === "csv" ? "csv" : ext === "json" ? "json" : null;
    if (!format) {
      this.showImport("error", t("faq.importBadType"));
      return;
    }
    this.showImport("busy", t("faq.importing", { name: file.name }));
    try {
      const text = await file.text();
      const res = await api.importFaq(format, text);
      this.showImport("ok", t("faq.imported", { n: res?.imported ?? 0, name: file.name }));
      await this.load();
    } catch (err) {
      // The server names the bad line ("line 7: ..."); show its words.
      this.showImport("error", t("faq.importFailed", { msg: err.message || errorText(err.code) }));
    }
  }

  showImport(state, text) {
    this.importResult.hidden = false;
    this.importResult.dataset.state = state;
    setText(this.importResult, text);
  }

  // ---- preview ---------------------------------------------------------

  schedulePreview() {
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(() => this.runPreview(), PREVIEW_DEBOUNCE_MS);
  }

  async runPreview() {
    const q = this.previewInput.value.trim();
    const seq = ++this.previewSeq;
    if (this.previewAbort) this.previewAbort.abort();
    if (!q) {
      this.previewResult = null;
      this.previewAbort = null;
      this.renderPreview();
      return;
    }
    const ctl = new AbortController();
    this.previewAbort = ctl;
    setText(this.previewStatus, t("preview.searching"));
    try {
      const res = await api.suggestFaq(q, PREVIEW_LIMIT, ctl.signal);
      if (seq !== this.previewSeq) return;
      this.previewResult = { items: res?.items || [], threshold: Number(res?.threshold) };
      this.previewError = false;
    } catch (err) {
      if (seq !== this.previewSeq || err.name === "AbortError") return;
      this.previewResult = null;
      this.previewError = true;
    }
    this.renderPreview();
  }

  renderPreview() {
    const r = this.previewResult;
    const q = this.previewInput.value.trim();
    if (!r) {
      resetKeyed(this.previewList);
      setText(this.previewStatus, this.previewError && q ? t("preview.failed") : "");
      return;
    }
    const threshold = Number.isFinite(r.threshold) ? r.threshold : null;
    setText(
      this.previewStatus,
      r.items.length ? (threshold !== null ? t("preview.threshold", { p: pct(threshold) }) : "") : t("preview.none"),
    );
    reconcile(
      this.previewList,
      r.items,
      (it) => it.faq_id,
      () => createPreviewItem(),
      (el, it) => updatePreviewItem(el, it, threshold),
    );
  }

  rerender() {
    translate(document);
    resetKeyed(this.list);
    this.catFilter.replaceChildren();
    this.renderList();
    if (this.phrasingList) resetKeyed(this.phrasingList);
    this.renderSide();
    resetKeyed(this.previewList);
    this.renderPreview();
    if (this.importResult.dataset.state) this.importResult.hidden = true;
  }
}

function sortByPosition(list) {
  return [...list].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
}

function createPreviewItem() {
  return h(
    "li",
    { class: "preview-item", "data-testid": "faq-preview-item" },
    h(
      "div",
      { class: "preview-item__top" },
      h("button", { type: "button", class: "link preview-item__q" }),
      h("span", { class: "preview-item__score", "data-testid": "faq-preview-score" }),
    ),
    h(
      "div",
      { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100" },
      h("div", { class: "bar__fill" }),
      h("div", { class: "bar__mark" }),
    ),
    h("div", { class: "preview-item__verdict small" }),
    h(
      "div",
      { class: "preview-item__why" },
      h("span", { class: "muted small preview-item__why-label" }),
      h("span", { class: "chips" }),
    ),
  );
}

function updatePreviewItem(el, it, threshold) {
  const score = Math.max(0, Math.min(1, Number(it.score) || 0));
  const above = threshold === null ? null : score >= threshold;
  setAttr(el, "data-faq-id", it.faq_id);
  setAttr(el, "data-score", score.toFixed(3));
  setAttr(el, "data-above", above === null ? null : String(above));
  const q = el.querySelector(".preview-item__q");
  setText(q, it.question || "");
  setAttr(q, "data-open", it.faq_id);
  setAttr(q, "title", t("preview.open"));
  setText(el.querySelector(".preview-item__score"), pct(score));
  const bar = el.querySelector(".bar");
  setAttr(bar, "aria-valuenow", String(Math.round(score * 100)));
  setAttr(bar, "aria-label", pct(score));
  el.querySelector(".bar__fill").style.width = pct(score);
  const mark = el.querySelector(".bar__mark");
  mark.hidden = threshold === null;
  if (threshold !== null) mark.style.left = pct(threshold);
  const verdict = el.querySelector(".preview-item__verdict");
  setText(verdict, above === null ? "" : above ? `✓ ${t("preview.above")}` : t("preview.below"));
  setText(el.querySelector(".preview-item__why-label"), t("preview.why"));
  const chips = el.querySelector(".chips");
  const terms = Array.isArray(it.matched_terms) ? it.matched_terms : [];
  const have = [...chips.children].map((c) => c.textContent);
  if (have.join("\n") !== terms.join("\n")) {
    chips.replaceChildren(...terms.map((term) => h("span", { class: "chip chip--term", "data-testid": "faq-matched-term", text: term })));
  }
}

const boot = readBoot();
translate(document);
if (!boot || !boot.agent) {
  location.assign(api.LOGIN_URL);
} else {
  const page = new FaqPage(boot);
  page.start();
  window.sapaFaq = page;
}
