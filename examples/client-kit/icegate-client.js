// icegate client kit for desknet's NEO web-conference pages: a small ES module, no dependencies.
// It asks the customer's own server for a tenant token (the server signs it with its license key:
// see server/), exchanges it at icegate's POST /v1/ice-servers for short-lived TURN credentials,
// builds the RTCPeerConnection configuration, and renews the credentials before they expire
// (setConfiguration; an ICE restart only when the relay's URLs changed, since a restart costs the
// call a moment of media).
//
//   import { IcegateClient } from './icegate-client.js';
//   const ice = new IcegateClient({ tokenEndpoint: '/icegate/token', icegateUrl: 'https://turn.example.jp' });
//   const pc = new RTCPeerConnection(await ice.configuration());
//   ice.keepFresh(pc);            // renews before expiresAt; ice.close() stops it
//
// The token endpoint answers JSON {"token": "<tenant JWT>"} (same origin: cookies identify the
// user). icegate must list the page's origin in CORS_ORIGINS.

/** A refusal or failure, with icegate's stable code (invalid_token, support_expired, ...) or the kit's own. */
export class IcegateError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {number} [status]
   */
  constructor(code, message, status) {
    super(message);
    this.name = 'IcegateError';
    this.code = code;
    this.status = status;
  }
}

/** Renew this long before expiresAt, at most; never earlier than half the credential's life. */
const DEFAULT_RENEW_BEFORE_MS = 5 * 60_000;
/** After a failed renewal, try again this long later (while the old credential still lives). */
const RETRY_MS = 5_000;

async function readJson(response, what) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const code = body && typeof body.error === 'string' ? body.error : `http_${response.status}`;
    const message =
      body && typeof body.message === 'string' ? body.message : `${what} answered ${response.status}`;
    throw new IcegateError(code, message, response.status);
  }
  if (body === null) throw new IcegateError('bad_response', `${what} did not answer JSON`, response.status);
  return body;
}

/** The TURN/STUN URLs of a configuration, sorted: what decides whether renewal needs an ICE restart. */
function urlsOf(iceServers) {
  return iceServers
    .flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]))
    .sort()
    .join(' ');
}

export class IcegateClient {
  /**
   * @param {object} options
   * @param {string} options.tokenEndpoint  the customer server's URL answering {"token": ...}
   * @param {string} options.icegateUrl     icegate's HTTP base URL (https://turn.example.jp)
   * @param {number} [options.ttl]          credential lifetime to ask for, seconds (icegate may shorten it)
   * @param {number} [options.renewBeforeMs] renew this long before expiresAt (default 5 minutes)
   * @param {(error: IcegateError) => void} [options.onError]  a renewal failed (it is retried)
   * @param {(info: {expiresAt: Date, restarted: boolean}) => void} [options.onRenewed]
   * @param {typeof fetch} [options.fetch]
   */
  constructor(options) {
    this.options = options;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timer = null;
    this.current = null;
    this.closed = false;
  }

  /** Fetches a token, then ICE servers: {iceServers, ttl, expiresAt} (throws IcegateError). */
  async iceServers() {
    const tokenAnswer = await this.fetch(this.options.tokenEndpoint, {
      credentials: 'same-origin',
      cache: 'no-store',
    }).catch((error) => {
      throw new IcegateError('token_endpoint_unreachable', String(error));
    });
    const { token } = await readJson(tokenAnswer, 'the token endpoint');
    if (typeof token !== 'string') throw new IcegateError('bad_response', 'the token endpoint sent no token');
    const body = this.options.ttl === undefined ? {} : { ttl: this.options.ttl };
    const answer = await this.fetch(`${this.options.icegateUrl.replace(/\/$/, '')}/v1/ice-servers`, {
      method: 'POST',
      cache: 'no-store',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }).catch((error) => {
      throw new IcegateError('icegate_unreachable', String(error));
    });
    const servers = await readJson(answer, 'icegate');
    this.current = servers;
    return servers;
  }

  /** An RTCConfiguration: `extra` (e.g. {iceTransportPolicy: 'relay'}) with fresh iceServers. */
  async configuration(extra = {}) {
    const servers = await this.iceServers();
    return { ...extra, iceServers: servers.iceServers };
  }

  /** Keeps `pc`'s credentials fresh until close(): renews before expiresAt. */
  keepFresh(pc) {
    if (this.current === null) throw new IcegateError('not_started', 'call configuration() first');
    this.pc = pc;
    this.#schedule(this.#renewDelay());
  }

  /** Stops renewing. */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
  }

  #renewDelay() {
    const expiresAt = Date.parse(this.current.expiresAt);
    const life = Math.max(0, expiresAt - Date.now());
    const before = Math.min(this.options.renewBeforeMs ?? DEFAULT_RENEW_BEFORE_MS, life / 2);
    return Math.max(0, life - before);
  }

  #schedule(delayMs) {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => void this.#renew(), delayMs);
  }

  async #renew() {
    const before = this.current;
    try {
      const next = await this.iceServers();
      if (this.closed || this.pc.connectionState === 'closed') return;
      // setConfiguration takes the whole configuration; only iceServers change (RFC 8829 s4.1.18).
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: next.iceServers });
      // Same URLs: the new credential is used by the next Refresh/allocation, no restart needed.
      const restarted = urlsOf(before.iceServers) !== urlsOf(next.iceServers);
      if (restarted) this.pc.restartIce();
      this.options.onRenewed?.({ expiresAt: new Date(next.expiresAt), restarted });
      this.#schedule(this.#renewDelay());
    } catch (error) {
      this.current = before;
      const failure =
        error instanceof IcegateError ? error : new IcegateError('renewal_failed', String(error));
      this.options.onError?.(failure);
      // Retry while the old credential lives; after that, keep trying at the same pace.
      this.#schedule(RETRY_MS);
    }
  }
}
