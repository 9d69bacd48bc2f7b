// The agent gateway connection: hello/welcome, request refs matched to their
// ack/error, heartbeats and jittered reconnects. It knows nothing about rooms;
// the console decides what to resync after each welcome.

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;
const REQUEST_TIMEOUT_MS = 15000;
const PING_EVERY_MS = 25000;
// Two missed pings means the path is dead even if TCP has not noticed yet.
const SILENCE_LIMIT_MS = 2 * PING_EVERY_MS + 10000;
// Closes after which retrying cannot help: the session is gone.
const AUTH_CLOSES = new Set([4401, 4000]);

export class RequestError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }

  // Worth sending again after the next welcome (sends are idempotent by client_msg_id).
  get retryable() {
    return this.code === "disconnected" || this.code === "timeout" || this.code === "unavailable";
  }
}

export class AgentSocket {
  constructor({ url, onEvent, onWelcome, onState, onAuthLost }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onWelcome = onWelcome;
    this.onState = onState;
    this.onAuthLost = onAuthLost;
    this.ws = null;
    this.ready = false;
    this.attempt = 0;
    this.pending = new Map();
    this.nextRef = 1;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastFrameAt = 0;
    this.stopped = false;
    // Reconnect at once when the network comes back instead of waiting out the backoff.
    window.addEventListener("online", () => this.reconnectNow());
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.setState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastFrameAt = Date.now();
      ws.send(JSON.stringify({ type: "hello" }));
    };
    ws.onmessage = (ev) => this.handleFrame(ws, ev.data);
    ws.onclose = (ev) => this.handleClose(ws, ev.code);
    // onerror is always followed by onclose, which does the work.
    ws.onerror = () => {};
  }

  // Stop for good (logout): no reconnect, pending requests fail.
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000);
    this.failPending("disconnected");
  }

  reconnectNow() {
    if (this.stopped || this.ready || (this.ws && this.ws.readyState === WebSocket.CONNECTING)) {
      return;
    }
    this.attempt = 0;
    this.connect();
  }

  // Fire and forget: frames without ref get no answer unless they fail.
  notify(type, fields = {}) {
    if (!this.ready) return false;
    this.ws.send(JSON.stringify({ type, ...fields }));
    return true;
  }

  // A request with a ref resolves with its ack or rejects with a RequestError.
  request(type, fields = {}, timeoutMs = REQUEST_TIMEOUT_MS) {
    if (!this.ready) return Promise.reject(new RequestError("disconnected"));
    const ref = `c${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new RequestError("timeout"));
      }, timeoutMs);
      this.pending.set(ref, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ type, ref, ...fields }));
    });
  }

  handleFrame(ws, data) {
    if (ws !== this.ws) return;
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    if (frame.type === "welcome") {
      this.ready = true;
      this.attempt = 0;
      this.startHeartbeat(ws);
      this.setState("online");
      this.onWelcome(frame);
      return;
    }
    if ((frame.type === "ack" || frame.type === "error") && frame.ref != null) {
      const entry = this.pending.get(frame.ref);
      if (entry) {
        this.pending.delete(frame.ref);
        clearTimeout(entry.timer);
        if (frame.type === "ack") entry.resolve(frame);
        else entry.reject(new RequestError(frame.code || "internal", frame.message));
      }
      return;
    }
    if (frame.type === "pong") return;
    this.onEvent(frame);
  }

  handleClose(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.ready = false;
    clearInterval(this.pingTimer);
    this.failPending("disconnected");
    if (this.stopped) return;
    if (AUTH_CLOSES.has(code)) {
      this.stopped = true;
      this.setState("offline");
      this.onAuthLost(code);
      return;
    }
    // Being told we are too fast or refused: back off harder before trying again.
    if (code === 4429 || code === 4403) this.attempt = Math.max(this.attempt, 5);
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    // Jitter: a server restart must not be met by every console at the same instant.
    const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this.setState("retrying", delay);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  startHeartbeat(ws) {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (ws !== this.ws) return;
      if (Date.now() - this.lastFrameAt > SILENCE_LIMIT_MS) {
        // A dead path may never finish the closing handshake, so give up on it now.
        ws.onclose = null;
        ws.close();
        this.handleClose(ws, 1006);
        return;
      }
      ws.send(JSON.stringify({ type: "ping" }));
    }, PING_EVERY_MS);
  }

  failPending(code) {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(new RequestError(code));
    }
    this.pending.clear();
  }

  setState(state, delayMs = 0) {
    this.onState(state, delayMs);
  }
}
