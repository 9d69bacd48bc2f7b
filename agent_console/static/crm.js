// The customer record (docs/protocol.md "## Customers (CRM)"): REST calls and
// the small formatting helpers every CRM view shares — money in Rupiah, segment
// badges, dates, a customer's display name.

import { api } from "./api.js";
import { t, locale } from "./i18n.js";
import { customerName, shortId } from "./model.js";
import { h, setText, setAttr } from "./dom.js";

export const SEGMENTS = ["champions", "loyal", "potential", "new", "at_risk", "hibernating", "lost", "prospect"];
export const LIFECYCLES = ["prospect", "new_customer", "repeat", "lapsed"];
// A tag or an attribute key, as the server accepts them (chat_server/domain/crm_rules.py).
export const ATTR_KEY = /^[A-Za-z0-9_.-]{1,40}$/;
export const MAX_TAG = 40;
export const MAX_NOTE = 4000;
export const MAX_ATTR_VALUE = 500;

const C = "/api/v1/customers";
const path = (id, rest = "") => `${C}/${encodeURIComponent(id)}${rest}`;

// ---- REST -------------------------------------------------------------------

// The whole record plus `orders` (newest first) and `rooms`.
export function getCustomer(id, signal) {
  return api(path(id), { signal });
}

// {name?, email?, phone?, attributes?: {k: v|null}, tags?: [str]} → the record (no orders/rooms).
export function patchCustomer(id, fields) {
  return api(path(id), { method: "PATCH", body: fields });
}

export function addCustomerNote(id, body) {
  return api(path(id, "/notes"), { method: "POST", body: { body } });
}

export function eraseCustomer(id) {
  return api(path(id), { method: "DELETE" });
}

export function customerTimeline(id, limit = 500) {
  return api(path(id, `/timeline?limit=${limit}`));
}

export function exportUrl(id) {
  return path(id, "/export");
}

// filters: {q, segment, tag, attr: "key:value", limit, offset} → {items, total}
export function listCustomers(filters, signal) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v !== "" && v != null) qs.set(k, String(v));
  return api(`${C}?${qs}`, { signal });
}

export function getSite() {
  return api("/api/v1/site");
}

export function putSite(fields) {
  return api("/api/v1/site", { method: "PUT", body: fields });
}

// The signed-in agent's own email notifications (minutes a conversation waits; 0 = never).
export function getNotifications() {
  return api("/api/v1/me/notifications");
}

export function putNotifications(minutes) {
  return api("/api/v1/me/notifications", { method: "PUT", body: { waiting_minutes: minutes } });
}

export function reportSummary() {
  return api("/api/v1/reports/summary");
}

// ---- formatting ---------------------------------------------------------------

export function intlLocale() {
  return locale() === "id" ? "id-ID" : "en-GB";
}

// Rupiah the Indonesian way: "Rp1.250.000" (no space, no decimals). Intl puts a
// no-break space after the symbol; Indonesian style writes them together.
export function money(amount, currency = "IDR") {
  const value = Number(amount) || 0;
  let fmt;
  try {
    fmt = new Intl.NumberFormat("id-ID", {
      style: "currency",
      currency: currency || "IDR",
      minimumFractionDigits: 0,
      maximumFractionDigits: 0,
    });
  } catch {
    // An unknown currency code: the number alone, with the code after it.
    return `${new Intl.NumberFormat("id-ID", { maximumFractionDigits: 0 }).format(value)} ${currency}`;
  }
  const parts = fmt.formatToParts(value);
  return parts
    .filter((p, i) => {
      if (p.type !== "literal" || p.value.trim()) return true;
      const prev = parts[i - 1]?.type;
      const next = parts[i + 1]?.type;
      return !(prev === "currency" || next === "currency");
    })
    .map((p) => p.value)
    .join("");
}

export function dateOnly(iso) {
  const d = new Date(iso || "");
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleDateString(intlLocale(), { day: "numeric", month: "short", year: "numeric" });
}

export function dateTime(iso) {
  const d = new Date(iso || "");
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(intlLocale(), {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function timeOnly(iso) {
  const d = new Date(iso || "");
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString(intlLocale(), { hour: "2-digit", minute: "2-digit" });
}

export function dayLabel(iso) {
  const d = new Date(iso || "");
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleDateString(intlLocale(), { weekday: "long", day: "numeric", month: "long", year: "numeric" });
}

// The name, or "Visitor 1a2B" for someone who never told us (the server names
// them "Pengunjung 1a2B"; shown in the agent's language).
export function displayName(c) {
  if (!c) return "";
  if (c.erased) return t("crm.erasedName");
  return customerName(c.name, c.id) || `${t("visitor")} ${shortId(c.id)}`;
}

export function segmentOf(c) {
  return c?.rfm?.segment || "prospect";
}

export function segmentLabel(segment) {
  return t(`segment.${segment}`);
}

export function lifecycleLabel(stage) {
  return t(`lifecycle.${stage}`);
}

// A coloured pill for the RFM segment; the colours live in crm.css by data-segment.
export function segmentBadge(segment, testid) {
  const el = h("span", { class: "segment", "data-testid": testid || null });
  updateSegmentBadge(el, segment);
  return el;
}

export function updateSegmentBadge(el, segment) {
  const s = SEGMENTS.includes(segment) ? segment : "prospect";
  setAttr(el, "data-segment", s);
  setText(el, segmentLabel(s));
  setAttr(el, "title", t(`segment.${s}.hint`));
}

// Attribute values are JSON scalars; agents type text. Keep a number a number
// and a boolean a boolean when what was typed still reads as one.
export function attrValue(typed, previous) {
  const s = String(typed).trim();
  if (typeof previous === "number" && s !== "" && Number.isFinite(Number(s))) return Number(s);
  if (typeof previous === "boolean" && (s === "true" || s === "false")) return s === "true";
  return s;
}

export function attrText(value) {
  if (value === true) return t("crm.yes");
  if (value === false) return t("crm.no");
  return String(value ?? "");
}

export function customerUrl(id, roomId) {
  const base = `/console/customers/${encodeURIComponent(id)}`;
  return roomId ? `${base}#room=${encodeURIComponent(roomId)}` : base;
}

export function consentKind(kind) {
  const key = `consent.${kind}`;
  return t(key) !== key ? t(key) : kind;
}

export function consentSource(source) {
  const key = `consent.source.${source}`;
  return t(key) !== key ? t(key) : source || "";
}
