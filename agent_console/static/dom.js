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

// A FAQ answer as a chat message: chat bodies are plain text, so the server's
// rendering of the answer's Markdown (its sanitised `answer_html`) becomes text
// with the emphasis dropped, links as "text (url)" and list items as "- item".
// DOMParser builds an inert document: nothing in it runs or loads, and none of
// it is ever put into the page.
export function chatText(html, fallback = "") {
  if (!html || typeof DOMParser === "undefined") return fallback;
  let doc;
  try {
    doc = new DOMParser().parseFromString(`<!doctype html><body>${html}`, "text/html");
  } catch {
    return fallback;
  }
  let s = "";
  const add = (text) => {
    s += s === "" || /[\n ]$/.test(s) ? text.replace(/^ +/, "") : text;
  };
  const walk = (node, depth, inItem) => {
    for (const c of node.childNodes) {
      if (c.nodeType === 3) {
        add(c.data.replace(/\s+/g, " "));
        continue;
      }
      if (c.nodeType !== 1) continue;
      const tag = c.tagName;
      if (tag === "BR") {
        s += "\n";
      } else if (tag === "P" || tag === "BLOCKQUOTE" || tag === "DIV") {
        if (!inItem) s += "\n\n";
        walk(c, depth, inItem);
        if (!inItem) s += "\n\n";
      } else if (tag === "UL" || tag === "OL") {
        let n = Number(c.getAttribute("start")) || 1;
        // A list follows its lead-in line directly: "Bisa kak:\n- JNE".
        if (!depth) s = s.replace(/\n+$/, "");
        for (const li of c.children) {
          s += `\n${"  ".repeat(depth)}${tag === "OL" ? `${n++}. ` : "- "}`;
          walk(li, depth + 1, true);
        }
        s += depth ? "" : "\n\n";
      } else if (tag === "A") {
        const start = s.length;
        walk(c, depth, inItem);
        const label = s.slice(start).trim();
        const href = c.getAttribute("href") || "";
        if (href && label !== href && label !== href.replace(/^mailto:/, "")) s += ` (${href})`;
      } else {
        walk(c, depth, inItem);
      }
    }
  };
  walk(doc.body, 0, false);
  const text = s
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  return text || fallback;
}
