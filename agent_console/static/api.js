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

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
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

export function logout() {
  return api("/api/v1/auth/logout", { method: "POST" });
}
