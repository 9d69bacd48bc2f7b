// The inbox column: four tabs with counters and the list of conversations of
// the chosen tab, newest activity first.

import { relativeTime, t, fullTime, eventText } from "./i18n.js";
import { TABS, inTab, activityTime, roomTitle } from "./model.js";
import { h, setText, setAttr, reconcile, resetKeyed, hueOf, initials } from "./dom.js";

const TAB_KEY = "sapa.console.tab";

export class Inbox {
  constructor(root, store, { onOpen }) {
    this.root = root;
    this.store = store;
    this.onOpen = onOpen;
    this.list = root.querySelector("#inbox-list");
    this.empty = root.querySelector("#inbox-empty");
    this.tabs = new Map(TABS.map((tab) => [tab, root.querySelector(`[data-tab="${tab}"]`)]));
    this.tab = loadTab();
    this.openRoomId = null;
    // The team and label filters (workgroups.js) narrow every tab.
    this.filter = () => true;
    for (const [tab, btn] of this.tabs) btn.addEventListener("click", () => this.selectTab(tab));
    root.querySelector(".tabs").addEventListener("keydown", (e) => this.onTabKey(e));
    // Relative times age even when nothing happens.
    setInterval(() => this.refreshTimes(), 30000);
  }

  selectTab(tab) {
    if (!TABS.includes(tab)) return;
    this.tab = tab;
    try {
      localStorage.setItem(TAB_KEY, tab);
    } catch {
      // Only a preference.
    }
    this.render();
  }

  // Follows the room across tabs: resolving the open room switches nothing,
  // but the highlighted row must stay correct.
  setOpen(roomId) {
    this.openRoomId = roomId;
    this.render();
  }

  visibleRooms() {
    const meId = this.store.me.id;
    return [...this.store.rooms.values()]
      .filter((r) => inTab(this.tab, r, meId) && this.filter(r))
      .sort((a, b) => activityTime(b) - activityTime(a));
  }

  // Moves the selection up or down the current list (Alt+↑/↓).
  step(delta) {
    const rooms = this.visibleRooms();
    if (!rooms.length) return;
    const i = rooms.findIndex((r) => r.id === this.openRoomId);
    const next = i < 0 ? 0 : Math.min(rooms.length - 1, Math.max(0, i + delta));
    this.onOpen(rooms[next].id);
  }

  render() {
    const meId = this.store.me.id;
    const counts = Object.fromEntries(TABS.map((tab) => [tab, 0]));
    for (const r of this.store.rooms.values()) {
      if (!this.filter(r)) continue;
      for (const tab of TABS) if (inTab(tab, r, meId)) counts[tab] += 1;
    }
    for (const [tab, btn] of this.tabs) {
      const selected = tab === this.tab;
      setAttr(btn, "aria-selected", String(selected));
      setAttr(btn, "tabindex", selected ? "0" : "-1");
      setText(btn.querySelector('[data-testid="tab-count"]'), counts[tab]);
    }
    const rooms = this.visibleRooms();
    reconcile(this.list, rooms, (r) => r.id, (r) => this.createItem(r), (el, r) => this.updateItem(el, r));
    setAttr(this.root, "aria-busy", String(!this.store.roomsLoaded));
    if (!this.store.roomsLoaded) setText(this.empty, t("inbox.loading"));
    else setText(this.empty, t(`inbox.empty.${this.tab}`));
    this.empty.hidden = rooms.length > 0;
  }

  // Locale changed: rebuild every row so no old-language text survives.
  rerender() {
    resetKeyed(this.list);
    this.render();
  }

  refreshTimes() {
    for (const el of this.list.querySelectorAll("time[data-iso]")) {
      setText(el, relativeTime(el.dataset.iso));
    }
  }

  // A list item holding one button: the list keeps its semantics and the row is
  // reachable and pressable from the keyboard like any button.
  createItem(room) {
    const btn = h(
      "button",
      { type: "button", class: "item__btn" },
      h("span", { class: "avatar", "aria-hidden": "true" }),
      h(
        "span",
        { class: "item__main" },
        h(
          "span",
          { class: "item__top" },
          h("span", { class: "item__name" }),
          h("span", { class: "item__assignee" }),
          h("time", { class: "item__time" }),
        ),
        h(
          "span",
          { class: "item__bottom" },
          h("span", { class: "item__preview" }),
          h("span", { class: "badge", "data-testid": "unread-badge", hidden: true }),
        ),
      ),
    );
    const el = h("li", { class: "item", "data-testid": "inbox-item" }, btn);
    btn.addEventListener("click", () => this.onOpen(el.dataset.roomId));
    return el;
  }

  updateItem(el, room) {
    const title = roomTitle(room);
    setAttr(el, "data-room-id", room.id);
    setAttr(el, "data-status", room.status);
    setAttr(el, "aria-current", room.id === this.openRoomId ? "true" : null);
    setAttr(el.firstElementChild, "aria-current", room.id === this.openRoomId ? "true" : null);
    el.classList.toggle("item--unread", (room.unread || 0) > 0);
    const avatar = el.querySelector(".avatar");
    setText(avatar, initials(title));
    avatar.style.setProperty("--hue", hueOf(room.customer_id || room.id));
    setText(el.querySelector(".item__name"), title);
    setAttr(el.querySelector(".item__name"), "title", room.customer?.email || title);

    // Whose conversation it is matters in the shared tabs only.
    const showAssignee = this.tab === "all" || this.tab === "resolved";
    const assignee = showAssignee && room.assignee ? room.assignee.name || "" : "";
    setText(el.querySelector(".item__assignee"), assignee ? `→ ${assignee}` : "");

    const time = el.querySelector(".item__time");
    const iso = room.last_message?.created_at || room.updated_at || room.created_at || "";
    setAttr(time, "data-iso", iso);
    setAttr(time, "datetime", iso);
    setAttr(time, "title", fullTime(iso));
    setText(time, relativeTime(iso));

    const preview = el.querySelector(".item__preview");
    const typers = this.store.typers(room.id).filter((a) => a.kind === "customer");
    preview.classList.toggle("item__preview--typing", typers.length > 0);
    setText(preview, typers.length ? t("inbox.typing") : previewText(room));

    const badge = el.querySelector('[data-testid="unread-badge"]');
    const unread = room.unread || 0;
    badge.hidden = unread === 0;
    setText(badge, unread > 99 ? "99+" : unread);
  }

  onTabKey(e) {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const i = TABS.indexOf(this.tab);
    const next = TABS[(i + (e.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length];
    this.selectTab(next);
    this.tabs.get(next).focus();
  }
}

function previewText(room) {
  const last = room.last_message;
  if (!last) return t("inbox.noMessages");
  // One line is all the row has room for.
  // Only a message that carries files may have no text.
  const body = String(last.body || "").replace(/\s+/g, " ").trim() || (last.kind === "event" ? "" : `\u{1F4CE} ${t("files.title")}`);
  if (last.kind === "note") return t("inbox.note") + body;
  if (last.kind === "event") return eventText(last).replace(/\s+/g, " ");
  if (last.author_kind === "agent") return t("inbox.replied") + body;
  return body;
}

function loadTab() {
  try {
    const saved = localStorage.getItem(TAB_KEY);
    if (TABS.includes(saved)) return saved;
  } catch {
    // Fall through to the default.
  }
  return "unassigned";
}
