// REST calls of the console. Unsafe methods carry the CSRF token from the boot
// data; a lost session on any call sends the agent back to the login page.

let csrfToken = "";

export const LOGIN_URL = "/console/login";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

export function setCsrfToken(token) {
  csrfToken = token || "";
}

// A file to /api/v1/uploads with progress (fetch has none for uploads): resolves to
// the attachment, or rejects with an ApiError.
export function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/uploads");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status === 201 && data?.attachment) resolve(data.attachment);
      else reject(new ApiError(xhr.status, data?.error?.code || `http_${xhr.status}`, data?.error?.message));
    };
    xhr.onerror = () => reject(new ApiError(0, "unavailable"));
    const form = new FormData();
    form.append("file", file, file.name || "image.png");
    xhr.send(form);
  });
}

// `body` goes as JSON; `raw` (a string or Blob) goes as it is, with `contentType`.
export async function api(path, { method = "GET", body, raw, contentType, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  else if (raw !== undefined) headers["Content-Type"] = contentType || "application/octet-stream";
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    signal,
    body: body !== undefined ? JSON.stringify(body) : raw,
  });
  if (res.status === 401) {
    location.assign(LOGIN_URL);
    throw new ApiError(401, "unauthorized");
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || "internal", err.message || res.statusText);
  }
  return data;
}

export function listRooms() {
  return api("/api/v1/rooms?kind=private").then((d) => d.items || []);
}

// The agent's canned responses, each filled in for the conversation (`text`).
export function cannedResponses(roomId) {
  return api(`/api/v1/canned_responses?room_id=${encodeURIComponent(roomId)}`).then((d) => d.items || []);
}

export function getRoom(roomId) {
  return api(`/api/v1/rooms/${encodeURIComponent(roomId)}`);
}

// The whole history after a seq, page by page; the server caps a page at 200.
export async function roomMessages(roomId, afterSeq = 0) {
  const out = [];
  let after = afterSeq;
  for (;;) {
    const q = `after_seq=${after}&limit=200`;
    const d = await api(`/api/v1/rooms/${encodeURIComponent(roomId)}/messages?${q}`);
    const items = d.items || [];
    out.push(...items);
    if (!d.has_more || items.length === 0) return out;
    after = items[items.length - 1].seq;
  }
}

// The FAQ suggestions for the room's latest customer message: {room_id, for_message_id, items}.
export function roomSuggestions(roomId) {
  return api(`/api/v1/rooms/${encodeURIComponent(roomId)}/suggestions`);
}

// FAQ cards the shopper was shown, their clicks and ratings, oldest first.
export function roomActivity(roomId) {
  return api(`/api/v1/rooms/${encodeURIComponent(roomId)}/activity`).then((d) => d.items || []);
}

export function logout() {
  return api("/api/v1/auth/logout", { method: "POST" });
}

// ---- FAQ (docs/protocol.md "## FAQ") ------------------------------------------

const FAQ = "/api/v1/faq";

function faqPath(id, rest = "") {
  return `${FAQ}/${encodeURIComponent(id)}${rest}`;
}

export function listFaq() {
  return api(FAQ).then((d) => d.items || []);
}

export function faqCategories() {
  return api(`${FAQ}/categories`).then((d) => d.items || []);
}

export function createFaq(fields) {
  return api(FAQ, { method: "POST", body: fields });
}

export function updateFaq(id, fields) {
  return api(faqPath(id), { method: "PUT", body: fields });
}

export function deleteFaq(id) {
  return api(faqPath(id), { method: "DELETE" });
}

export function reorderFaq(ids) {
  return api(`${FAQ}/reorder`, { method: "POST", body: { ids } });
}

export function addPhrasing(id, text) {
  return api(faqPath(id, "/phrasings"), { method: "POST", body: { text } });
}

export function deletePhrasing(id, phrasingId) {
  return api(faqPath(id, `/phrasings/${encodeURIComponent(phrasingId)}`), { method: "DELETE" });
}

// `{items: [Suggestion], threshold}`, best first, weak ones included.
export function suggestFaq(q, limit = 3, signal) {
  const qs = new URLSearchParams({ q, limit: String(limit) });
  return api(`${FAQ}/suggest?${qs}`, { signal });
}

export function importFaq(format, text) {
  const contentType = format === "csv" ? "text/csv; charset=utf-8" : "application/json";
  return api(`${FAQ}/import?format=${format}`, { method: "POST", raw: text, contentType });
}

export function faqExportUrl(format) {
  return `${FAQ}/export?format=${format}`;
}
