// Canned responses in the reply box: typing "/" (at the start or after a space)
// opens the agent's responses filtered by what follows; arrow keys choose, Enter
// or Tab inserts the response with its variables filled in for the conversation
// (the server fills them: GET /api/v1/canned_responses?room_id=), Escape closes.

import { t } from "./i18n.js";
import { h, setAttr } from "./dom.js";

const TRIGGER = /(^|\s)\/([\p{L}\p{N}_-]*)$/u;
const SHOWN = 8;
const FRESH_MS = 60_000;

export class CannedPicker {
  // load(roomId) -> Promise<[{id, shortcut, body, text, scope}]>
  constructor(input, host, roomOf, load) {
    this.input = input;
    this.roomOf = roomOf;
    this.load = load;
    this.cache = { roomId: null, at: 0, items: null };
    this.matches = [];
    this.active = 0;
    this.token = null; // {start, end} of "/query" in the box
    this.list = h("ul", {
      class: "canned",
      id: "canned-list",
      role: "listbox",
      "data-testid": "canned-list",
      hidden: true,
    });
    host.prepend(this.list);
    setAttr(input, "aria-controls", "canned-list");
    setAttr(input, "aria-autocomplete", "list");
    input.addEventListener("input", () => this.update());
    // Capture: ahead of the reply box's own Enter-sends handler.
    input.addEventListener("keydown", (e) => this.onKey(e), true);
    input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    this.list.addEventListener("mousedown", (e) => e.preventDefault()); // keep the focus
    this.list.addEventListener("click", (e) => {
      const item = e.target.closest("[data-index]");
      if (item) this.insert(Number(item.dataset.index));
    });
  }

  get open() {
    return !this.list.hidden;
  }

  async items(roomId) {
    const c = this.cache;
    if (c.roomId === roomId && c.items && Date.now() - c.at < FRESH_MS) return c.items;
    const items = await this.load(roomId);
    this.cache = { roomId, at: Date.now(), items };
    return items;
  }

  async update() {
    const caret = this.input.selectionStart;
    const before = this.input.value.slice(0, caret);
    const m = TRIGGER.exec(before);
    const roomId = this.roomOf();
    if (!m || !roomId) return this.close();
    this.token = { start: caret - m[2].length - 1, end: caret };
    const query = m[2].toLowerCase();
    let items;
    try {
      items = await this.items(roomId);
    } catch {
      return this.close();
    }
    if (this.roomOf() !== roomId || this.input.selectionStart !== caret) return;
    const starts = items.filter((i) => i.shortcut.startsWith(query));
    const contains = items.filter(
      (i) => !i.shortcut.startsWith(query) && (i.shortcut.includes(query) || i.body.toLowerCase().includes(query)),
    );
    this.matches = [...starts, ...contains].slice(0, SHOWN);
    this.active = 0;
    this.render(items.length === 0);
  }

  render(none) {
    this.list.replaceChildren();
    if (!this.matches.length) {
      this.list.append(
        h("li", { class: "canned__empty muted small", text: t(none ? "canned.none" : "canned.noMatch") }),
      );
    }
    this.matches.forEach((item, i) => {
      this.list.append(
        h(
          "li",
          {
            id: `canned-${i}`,
            class: "canned__item",
            role: "option",
            "data-testid": "canned-item",
            "data-index": String(i),
            "aria-selected": i === this.active ? "true" : "false",
          },
          h("strong", { class: "canned__key", text: `/${item.shortcut}` }),
          h("span", { class: "canned__text", text: item.text ?? item.body }),
        ),
      );
    });
    this.list.hidden = false;
    setAttr(this.input, "aria-activedescendant", this.matches.length ? `canned-${this.active}` : null);
  }

  close() {
    if (!this.open) return;
    this.list.hidden = true;
    this.matches = [];
    setAttr(this.input, "aria-activedescendant", null);
  }

  onKey(e) {
    if (!this.open || e.isComposing) return;
    const n = this.matches.length;
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopImmediatePropagation();
      this.close();
    } else if ((e.key === "ArrowDown" || e.key === "ArrowUp") && n) {
      e.preventDefault();
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      this.render(false);
    } else if ((e.key === "Enter" || e.key === "Tab") && n && !e.shiftKey) {
      e.preventDefault();
      e.stopImmediatePropagation();
      this.insert(this.active);
    }
  }

  insert(index) {
    const item = this.matches[index];
    if (!item || !this.token) return;
    const { start, end } = this.token;
    const text = item.text ?? item.body;
    const value = this.input.value;
    this.input.value = value.slice(0, start) + text + value.slice(end);
    const caret = start + text.length;
    this.input.setSelectionRange(caret, caret);
    this.close();
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
    this.input.focus();
  }
}
