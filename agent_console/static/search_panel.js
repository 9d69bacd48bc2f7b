// Search at the top of the inbox: messages, notes and customers of the site
// (GET /api/v1/search). While results are shown they take the list's place;
// a result opens its conversation at the message (or the customer's record).

import { t, relativeTime, fullTime } from "./i18n.js";
import { h, setText, setAttr } from "./dom.js";
import { api } from "./api.js";

export class SearchPanel {
  // onOpen(roomId, messageId): open that conversation at that message.
  constructor(inbox, { onOpen }) {
    this.inbox = inbox;
    this.onOpen = onOpen;
    this.seq = 0;
    this.form = h("form", { class: "search", role: "search", "data-testid": "search-form" });
    this.input = h("input", {
      class: "input input--small search__input",
      type: "search",
      maxlength: "200",
      "data-testid": "search-input",
      placeholder: t("search.placeholder"),
      "aria-label": t("search.placeholder"),
      "data-i18n-placeholder": "search.placeholder",
      "data-i18n-aria-label": "search.placeholder",
    });
    this.clearBtn = h("button", {
      type: "button",
      class: "btn btn--small",
      "data-testid": "search-clear",
      text: t("search.clear"),
      "data-i18n": "search.clear",
      hidden: true,
    });
    this.form.append(this.input, this.clearBtn);
    this.status = h("p", { class: "search__status muted small", role: "status", hidden: true });
    this.results = h("ul", {
      class: "inbox__list search__results",
      "data-testid": "search-results",
      "aria-label": t("search.results"),
      "data-i18n-aria-label": "search.results",
      hidden: true,
    });
    const title = inbox.querySelector("#inbox-title");
    title.after(this.form);
    inbox.append(this.status, this.results);
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.run();
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.clear();
    });
    this.clearBtn.addEventListener("click", () => this.clear());
    this.results.addEventListener("click", (e) => {
      const item = e.target.closest("[data-room-id], [data-customer-id]");
      if (!item) return;
      if (item.dataset.roomId) this.onOpen(item.dataset.roomId, item.dataset.foundMessage);
      else location.assign(`/console/customers/${encodeURIComponent(item.dataset.customerId)}`);
    });
  }

  showing(on) {
    this.inbox.classList.toggle("inbox--searching", on);
    this.results.hidden = !on;
    this.status.hidden = !on;
    this.clearBtn.hidden = !on;
  }

  clear() {
    this.seq += 1;
    this.input.value = "";
    this.results.replaceChildren();
    this.showing(false);
  }

  async run() {
    const q = this.input.value.trim();
    if (!q) return this.clear();
    const seq = ++this.seq;
    this.showing(true);
    setText(this.status, t("search.searching"));
    let items;
    try {
      items = (await api(`/api/v1/search?q=${encodeURIComponent(q)}`)).items || [];
    } catch (err) {
      if (seq === this.seq) setText(this.status, t("search.failed"));
      return;
    }
    if (seq !== this.seq) return;
    setText(this.status, items.length ? t("search.count", { n: items.length }) : t("search.none"));
    this.results.replaceChildren(...items.map((it) => this.item(it)));
  }

  item(it) {
    if (it.type === "customer") {
      const c = it.customer;
      return h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "item search__item", "data-testid": "search-result", "data-customer-id": c.id },
          h("span", { class: "item__name", text: c.name }),
          h("span", { class: "item__preview muted small", text: c.email || "" }),
        ),
      );
    }
    const m = it.message;
    const who = it.customer ? it.customer.name : "";
    const note = m.kind === "note" ? `${t("search.note")} · ` : "";
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: "item search__item",
          "data-testid": "search-result",
          "data-room-id": it.room_id,
          "data-found-message": m.id,
          title: fullTime(m.created_at),
        },
        h("span", { class: "item__name", text: who }),
        h("span", { class: "item__preview small", text: note + m.body.slice(0, 200) }),
        h("span", { class: "item__time muted small", text: relativeTime(m.created_at) }),
      ),
    );
  }
}

// Scroll the conversation to a message found by search and mark it, once drawn.
export function revealMessage(messageId, tries = 50) {
  const el = document.querySelector(`#conv-messages [data-message-id="${CSS.escape(messageId)}"]`);
  if (!el) {
    if (tries > 0) setTimeout(() => revealMessage(messageId, tries - 1), 100);
    return;
  }
  el.scrollIntoView({ block: "center" });
  el.classList.add("msg--found");
  setAttr(el, "data-found", "true");
  setTimeout(() => el.classList.remove("msg--found"), 4000);
}
