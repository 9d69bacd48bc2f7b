// What every console page shares: the boot data, the sidebar (who is logged
// in, navigation, language, logout) and toasts.

import { t, locale, setLocale, onLocaleChange } from "./i18n.js";
import { api } from "./api.js";

export function readBoot() {
  const el = document.getElementById("sapa-boot");
  try {
    const boot = JSON.parse(el.textContent);
    // The language the agent chose on the account page follows them to every device.
    if (boot && boot.locale) {
      setLocale(boot.locale);
      // Once chosen, switching language anywhere in the console is that choice.
      onLocaleChange(() => {
        if (locale() !== boot.locale) {
          boot.locale = locale();
          api("/api/v1/account", { method: "PATCH", body: { locale: boot.locale } }).catch(() => {});
        }
      });
    }
    return boot;
  } catch {
    return null;
  }
}

export function fillIdentity(boot) {
  const set = (id, text) => {
    const el = document.getElementById(id);
    if (el) el.textContent = text || "";
  };
  set("site-name", boot.site?.name);
  set("agent-name", boot.agent?.name);
  set("agent-email", boot.agent?.email);
}

export function showToast(text) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const el = document.createElement("div");
  el.className = "toast";
  el.setAttribute("role", "status");
  el.textContent = text;
  box.append(el);
  setTimeout(() => el.remove(), 5000);
}

// A REST or socket error code in the agent's language.
export function errorText(code) {
  if (code === "disconnected" || code === "timeout" || code === "unavailable") return t("err.offline");
  const key = `err.${code}`;
  return t(key) !== key ? t(key) : t("err.generic", { msg: code || "?" });
}

// Skip links move focus without touching the address (its hash names the open room).
// A target that is not shown (the reply box with no conversation open) falls back to
// the first one that is.
export function wireSkipLinks() {
  const links = [...document.querySelectorAll(".skip-link")];
  for (const link of links) {
    link.addEventListener("click", (e) => {
      e.preventDefault();
      const shown = (el) => el && el.getClientRects().length > 0;
      const wanted = document.querySelector(link.getAttribute("href"));
      const target = shown(wanted)
        ? wanted
        : links.map((l) => document.querySelector(l.getAttribute("href"))).find(shown);
      target?.focus();
    });
  }
}

// The unread count on the "Conversations" link of the sidebar.
export function setNavUnread(n) {
  const el = document.querySelector('[data-testid="nav-unread"]');
  if (!el) return;
  el.hidden = !(n > 0);
  const text = n > 99 ? "99+" : String(n || 0);
  if (el.textContent !== text) el.textContent = text;
}
