/**
 * Keeps the swarm token fresh. The tracker checks the token's expiry on the WebSocket upgrade and
 * on every announce, so a viewer watching longer than a token lives (a live event) would stop
 * finding peers. Before it expires the keeper fetches a new one: by default from the master
 * playlist again (the origin plugin puts a current token in its bootstrap), or from the page's
 * own `getToken` (per-viewer tokens from the publisher's backend). The swarms then reconnect
 * their tracker socket with it; peer connections already open are not touched.
 */
import { BOOTSTRAP_DATA_ID, bootstrapValueFromMpd, parseBootstrap, type Bootstrap } from "./bootstrap.js";
import { BootstrapError, TokenError } from "./errors.js";
import { TypedEmitter } from "./events.js";

/** Unix ms of a JWT's `exp` claim; null when there is none or it is not a JWT. No signature check: the tracker does that. */
export function tokenExpiryMs(token: string): number | null {
  const payload = token.split(".")[1];
  if (!payload || !/^[A-Za-z0-9_-]+$/.test(payload)) return null;
  try {
    const json = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((payload.length + 3) % 4)));
    return typeof json?.exp === "number" && Number.isFinite(json.exp) ? json.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** Shortest wait before a refresh, so a token that is already stale cannot cause a fetch loop. */
export const MIN_REFRESH_DELAY_MS = 5_000;

/**
 * ms from `nowMs` until a token expiring at `expMs` should be replaced: `marginMs` before expiry,
 * or at a quarter of the remaining life for short-lived tokens; at least MIN_REFRESH_DELAY_MS.
 */
export function refreshDelayMs(expMs: number, nowMs: number, marginMs: number): number {
  const left = expMs - nowMs;
  return Math.max(MIN_REFRESH_DELAY_MS, left - Math.min(marginMs, left / 4));
}

/** Whether a token expiring at `expMs` is as good as expired at `nowMs` (a source that hands out such a one is asked again later). */
export function isSpent(expMs: number | null, nowMs: number): boolean {
  return expMs !== null && expMs - nowMs <= MIN_REFRESH_DELAY_MS;
}

/** The bootstrap from the text of a master playlist (throws BootstrapError without one). */
export function bootstrapFromMasterPlaylist(text: string): Bootstrap {
  if (/<(?:[\w.-]+:)?MPD\b/.test(text)) {
    // A DASH MPD (the "master" of a DASH stream): the descriptor carries the bootstrap.
    const value = bootstrapValueFromMpd(text);
    if (value !== null) return parseBootstrap(value);
    throw new BootstrapError("the MPD has no meshcdn bootstrap any more");
  }
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith("#EXT-X-SESSION-DATA:") || !line.includes(`DATA-ID="${BOOTSTRAP_DATA_ID}"`)) continue;
    const value = /(?:^|[:,])VALUE="([^"]*)"/.exec(line.slice("#EXT-X-SESSION-DATA:".length))?.[1];
    if (value !== undefined) return parseBootstrap(value);
  }
  throw new BootstrapError("the master playlist has no meshcdn bootstrap any more");
}

/** The bootstrap's token from the text of a master playlist (throws BootstrapError without one). */
export function tokenFromMasterPlaylist(text: string): string | null {
  return bootstrapFromMasterPlaylist(text).token;
}

/** Fetches `masterUrl` and returns its bootstrap (token, TURN credentials). */
export async function fetchBootstrapFromMaster(masterUrl: string, fetchImpl: typeof fetch = globalThis.fetch): Promise<Bootstrap> {
  const res = await fetchImpl(masterUrl, { cache: "no-store" });
  if (!res.ok) throw new TokenError(`master playlist answered ${res.status}`);
  return bootstrapFromMasterPlaylist(await res.text());
}

/** Fetches `masterUrl` and returns the token of its bootstrap. */
export async function fetchTokenFromMaster(masterUrl: string, fetchImpl: typeof fetch = globalThis.fetch): Promise<string | null> {
  return (await fetchBootstrapFromMaster(masterUrl, fetchImpl)).token;
}

export type TokenKeeperEvents = {
  /** A new token is current (the swarms reconnect their trackers with it). */
  token: (token: string | null, expiresAtMs: number | null) => void;
  error: (err: TokenError) => void;
};

export interface TokenKeeperOptions {
  /** Where new tokens come from. */
  fetchToken: () => Promise<string | null>;
  /** Replace a token this long before it expires. */
  marginMs: number;
  now: () => number;
  /** Retry delay after a failed fetch (the old token may still be valid meanwhile). */
  retryMs: number;
}

export class TokenKeeper extends TypedEmitter<TokenKeeperEvents> {
  private token: string | null;
  private expMs: number | null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the scheduled refresh is due (Unix ms), if one is scheduled. */
  private dueAtMs: number | null = null;
  private lastFetchAtMs = -Infinity;
  private inFlight: Promise<void> | null = null;
  private stopped = false;

  constructor(initial: string | null, private readonly o: TokenKeeperOptions) {
    super();
    this.token = initial;
    this.expMs = initial ? tokenExpiryMs(initial) : null;
    this.schedule(this.expMs === null ? null : refreshDelayMs(this.expMs, o.now(), o.marginMs));
  }

  get current(): string | null {
    return this.token;
  }

  get expiresAtMs(): number | null {
    return this.expMs;
  }

  /** Fetches a new token now, unless a fetch is already running (then waits for that one). */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.inFlight ??= this.fetchOnce().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  /**
   * After the tracker refused us: refreshes if the token is due for replacement (its timer may have
   * been held back, e.g. in a throttled background tab). A refusal while the token is fresh has
   * another cause, and refreshing would not help.
   */
  refreshIfStale(): void {
    const now = this.o.now();
    if (this.dueAtMs !== null && now >= this.dueAtMs && now - this.lastFetchAtMs >= MIN_REFRESH_DELAY_MS) void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async fetchOnce(): Promise<void> {
    let token: string | null;
    this.lastFetchAtMs = this.o.now();
    try {
      token = await this.o.fetchToken();
    } catch (e) {
      if (this.stopped) return;
      const err = e instanceof TokenError ? e : new TokenError(`cannot refresh the swarm token: ${(e as Error).message}`);
      this.emit("error", err);
      this.schedule(this.o.retryMs);
      return;
    }
    if (this.stopped) return;
    const exp = token ? tokenExpiryMs(token) : null;
    const changed = token !== this.token;
    this.token = token;
    this.expMs = exp;
    const now = this.o.now();
    if (isSpent(exp, now)) {
      // The source handed out a token about to expire (e.g. a stale cached playlist): ask again later.
      this.schedule(this.o.retryMs);
    } else {
      this.schedule(exp === null ? null : refreshDelayMs(exp, now, this.o.marginMs));
    }
    if (changed) this.emit("token", token, exp);
  }

  private schedule(delayMs: number | null): void {
    clearTimeout(this.timer);
    this.dueAtMs = null;
    if (delayMs === null || this.stopped) return;
    this.dueAtMs = this.o.now() + delayMs;
    this.timer = setTimeout(() => void this.refresh(), delayMs);
  }
}
