// Tiny DOM helpers. Text only ever goes in through textContent: message bodies
// and names come from shoppers and must never be parsed as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c != null) el.append(c);
  return el;
}

export function setText(el, text) {
  const s = text == null ? "" : String(text);
  if (el.textContent !== s) el.textContent = s;
}

export function setAttr(el, name, value) {
  if (value == null || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
    return;
  }
  const s = value === true ? "" : String(value);
  if (el.getAttribute(name) !== s) el.setAttribute(name, s);
}

// Keyed list update: reuses each item's element, creates new ones, drops the
// rest, and moves nodes only where the order changed, so a live update does not
// rebuild a long list or lose its scroll position.
export function reconcile(container, items, keyOf, create, update) {
  const cache = container._keyed || (container._keyed = new Map());
  const keep = new Set();
  let cursor = container.firstChild;
  for (const item of items) {
    const key = keyOf(item);
    keep.add(key);
    let el = cache.get(key);
    if (!el) {
      el = create(item);
      cache.set(key, el);
    }
    update(el, item);
    if (el === cursor) {
      cursor = cursor.nextSibling;
    } else {
      container.insertBefore(el, cursor);
    }
  }
  for (const [key, el] of cache) {
    if (!keep.has(key)) {
      el.remove();
      cache.delete(key);
    }
  }
}

export function resetKeyed(container) {
  container._keyed = new Map();
  container.replaceChildren();
}

// Stable pleasant hue per id, for avatar circles.
export function hueOf(id) {
  let x = 0;
  for (const ch of String(id)) x = (x * 31 + ch.codePointAt(0)) % 360;
  return x;
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const first = [...(parts[0] || "?")][0] || "?";
  const second = parts.length > 1 ? [...parts[parts.length - 1]][0] : "";
  return (first + second).toUpperCase();
}
