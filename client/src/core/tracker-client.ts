/**
 * Client side of the WebTorrent WebSocket tracker protocol (what `bittorrent-tracker`'s client and
 * p2p-media-loader speak, and `meshcdn edge` serves): JSON text frames, 20-char binary-string ids,
 * SDP offers sent with the announce and relayed to peers, answers relayed back by `to_peer_id` + `offer_id`.
 * One instance per swarm. Reconnects with exponential backoff, rotating through the tracker URLs.
 */
import { networkFactsOf, type NetworkFacts } from "./beacon.js";
import { isBinaryId } from "./binary-string.js";
import { TrackerError } from "./errors.js";
import { TypedEmitter } from "./events.js";
import { trackerUrlWithToken } from "./bootstrap.js";

/** Largest tracker frame we accept (the tracker's own limit is 64 KiB). */
const MAX_FRAME_CHARS = 64 * 1024;

/**
 * Delay before reconnect attempt number `failures` (1 = first retry). The first round goes through
 * the other URLs at once (they are other servers); after that, exponential from `minMs` per round,
 * capped at `maxMs`; `jitter` in [0,1) spreads a crowd of clients (±25 %).
 */
export function reconnectDelayMs(failures: number, urlCount: number, minMs: number, maxMs: number, jitter: number): number {
  const n = Math.max(1, urlCount);
  if (failures <= 0 || failures < n) return 0;
  const round = Math.floor((failures - n) / n);
  const base = Math.min(maxMs, minMs * 2 ** Math.min(round, 30));
  return Math.round(base * (0.75 + 0.5 * jitter));
}

export interface TrackerOffer {
  offerId: string;
  sdp: string;
}

export interface TrackerClientOptions {
  urls: string[];
  /** The current swarm token (it may change between connections, see TokenKeeper). */
  token: () => string | null;
  /** A connection failed before it opened, or the tracker refused a request (maybe the token). */
  onRefused?: () => void;
  /** 20-char binary string. */
  infoHash: string;
  /** 20-char binary string. */
  peerId: string;
  /** Fresh offers for an announce (may return fewer than asked). */
  createOffers(count: number): Promise<TrackerOffer[]>;
  /** How many more peers we want now. */
  wantedPeers(): number;
  /** Transfer totals reported in announces. */
  totals(): { uploaded: number; downloaded: number };
  reconnectMinMs: number;
  reconnectMaxMs: number;
  maxAnnounceIntervalMs: number;
  /** Peers we are connected to now, reported to the tracker (`meshcdn.peers`) so its link view stays current. */
  connectedPeers?: () => number;
  /**
   * Peers whose connection with us failed or closed since the last call (`meshcdn.failed`, at
   * most 32): the tracker forgets those links and may pair us with them again right away.
   */
  failedPeers?: () => string[];
  WebSocketImpl?: typeof WebSocket;
}

export type TrackerClientEvents = {
  offer: (from: string, offerId: string, sdp: string) => void;
  answer: (from: string, offerId: string, sdp: string) => void;
  /** The swarm's counts from an announce response (they include us). */
  swarm: (complete: number, incomplete: number) => void;
  /** What the tracker saw of our network (meshcdn trackers: the reply to our first announce). */
  network: (facts: NetworkFacts) => void;
  /** `connected` false also while reconnecting. */
  state: (url: string, connected: boolean) => void;
  error: (err: TrackerError) => void;
};

export class TrackerClient extends TypedEmitter<TrackerClientEvents> {
  private ws: WebSocket | null = null;
  private failures = 0;
  private urlIndex = 0;
  private stopped = true;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private announceTimer: ReturnType<typeof setTimeout> | undefined;
  private intervalMs: number;
  private sentStarted = false;
  /** Offers made while the socket connects (ICE gathering overlaps the connection set-up). */
  private early: Promise<TrackerOffer[]> | null = null;
  connectedUrl: string | null = null;

  constructor(private readonly o: TrackerClientOptions) {
    super();
    if (o.urls.length === 0) throw new TypeError("meshcdn: TrackerClient needs at least one URL");
    this.intervalMs = o.maxAnnounceIntervalMs;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.announceTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      if (ws.readyState === 1 && this.sentStarted) {
        this.sendJson(ws, { action: "announce", event: "stopped", info_hash: this.o.infoHash, peer_id: this.o.peerId, ...this.totals() });
      }
      ws.close();
    }
  }

  get connected(): boolean {
    return this.ws?.readyState === 1;
  }

  /**
   * Opens a new tracker connection now (e.g. with a new token) and closes the current one. Peer
   * connections made through the tracker are not affected.
   */
  reconnect(): void {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.announceTimer);
    const old = this.ws;
    this.ws = null;
    if (old) {
      if (this.connectedUrl) this.emit("state", this.connectedUrl, false);
      this.connectedUrl = null;
      old.close();
    }
    this.connect();
  }

  /** Announce now (e.g. when we lost peers), with fresh offers if we want peers. */
  announceNow(): void {
    if (this.ws?.readyState === 1) void this.announce(this.ws);
  }

  sendAnswer(toPeerId: string, offerId: string, sdp: string): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return;
    this.sendJson(ws, {
      action: "announce",
      info_hash: this.o.infoHash,
      peer_id: this.o.peerId,
      to_peer_id: toPeerId,
      offer_id: offerId,
      answer: { type: "answer", sdp },
    });
  }

  private totals() {
    const t = this.o.totals();
    // `left` 1: a live viewer is never "complete"; trackers then pair it with everyone.
    return { uploaded: t.uploaded, downloaded: t.downloaded, left: 1 };
  }

  private connect(): void {
    if (this.stopped) return;
    const url = this.o.urls[this.urlIndex % this.o.urls.length]!;
    const WS = this.o.WebSocketImpl ?? globalThis.WebSocket;
    let ws: WebSocket;
    try {
      ws = new WS(trackerUrlWithToken(url, this.o.token()));
    } catch (e) {
      this.emit("error", new TrackerError(url, `cannot open: ${(e as Error).message}`));
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    if (!this.early) {
      // A failed connection leaves them for the next one.
      const want = Math.max(0, this.o.wantedPeers());
      this.early = want > 0 ? this.o.createOffers(want).catch(() => []) : null;
    }
    let opened = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      opened = true;
      this.failures = 0;
      this.connectedUrl = url;
      this.sentStarted = false;
      this.emit("state", url, true);
      void this.announce(ws);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws === ws) this.handleFrame(url, ev.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.connectedUrl = null;
      clearTimeout(this.announceTimer);
      if (opened) this.emit("state", url, false);
      else {
        this.emit("error", new TrackerError(url, "connection failed"));
        // A refused upgrade (HTTP 401) looks the same to a browser: maybe the token expired.
        this.o.onRefused?.();
      }
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      // onclose follows and does the bookkeeping.
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.failures++;
    this.urlIndex++; // fail over to the next URL
    const delay = reconnectDelayMs(this.failures, this.o.urls.length, this.o.reconnectMinMs, this.o.reconnectMaxMs, Math.random());
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private async announce(ws: WebSocket): Promise<void> {
    clearTimeout(this.announceTimer);
    const early = this.early;
    this.early = null;
    let offers: TrackerOffer[];
    if (early) offers = await early;
    else {
      const want = Math.max(0, this.o.wantedPeers());
      offers = want > 0 ? await this.o.createOffers(want) : [];
    }
    if (this.ws !== ws || ws.readyState !== 1) return;
    const msg: Record<string, unknown> = {
      action: "announce",
      info_hash: this.o.infoHash,
      peer_id: this.o.peerId,
      numwant: offers.length,
      ...this.totals(),
      offers: offers.map((o) => ({ offer_id: o.offerId, offer: { type: "offer", sdp: o.sdp } })),
    };
    if (this.o.connectedPeers) {
      const failed = (this.o.failedPeers?.() ?? []).filter(isBinaryId).slice(0, 32);
      msg.meshcdn = { peers: Math.min(0xffff, this.o.connectedPeers()), ...(failed.length ? { failed } : {}) };
    }
    if (!this.sentStarted) msg.event = "started";
    this.sentStarted = true;
    this.sendJson(ws, msg);
    this.announceTimer = setTimeout(() => void this.announce(ws), this.intervalMs);
  }

  private sendJson(ws: WebSocket, msg: unknown): void {
    try {
      ws.send(JSON.stringify(msg));
    } catch {
      // Socket closing; onclose reconnects.
    }
  }

  private handleFrame(url: string, data: unknown): void {
    if (typeof data !== "string" || data.length > MAX_FRAME_CHARS) {
      this.emit("error", new TrackerError(url, "non-text or oversized frame ignored"));
      return;
    }
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(data);
    } catch {
      this.emit("error", new TrackerError(url, "frame is not JSON"));
      return;
    }
    if (typeof m !== "object" || m === null) return;
    if (typeof m["failure reason"] === "string") {
      this.emit("error", new TrackerError(url, `failure reason: ${m["failure reason"]}`));
      this.o.onRefused?.();
      return;
    }
    if (m.action !== "announce" || m.info_hash !== this.o.infoHash) return;
    if (typeof m.interval === "number" && m.interval > 0) {
      this.intervalMs = Math.min(this.o.maxAnnounceIntervalMs, m.interval * 1000);
    }
    if (typeof m.complete === "number" && typeof m.incomplete === "number" && m.offer === undefined && m.answer === undefined) {
      this.emit("swarm", m.complete, m.incomplete);
      const net = networkFactsOf((m.meshcdn as { net?: unknown } | undefined)?.net);
      if (net) this.emit("network", net);
    }
    const from = m.peer_id;
    const offerId = m.offer_id;
    if (!isBinaryId(from) || !isBinaryId(offerId) || from === this.o.peerId) return;
    const offer = m.offer as { type?: unknown; sdp?: unknown } | undefined;
    const answer = m.answer as { type?: unknown; sdp?: unknown } | undefined;
    if (offer && offer.type === "offer" && typeof offer.sdp === "string") this.emit("offer", from, offerId, offer.sdp);
    else if (answer && answer.type === "answer" && typeof answer.sdp === "string") this.emit("answer", from, offerId, answer.sdp);
  }
}
