/**
 * When a player's start-up is over, for holding the swarm join back until then (MeshCore.holdJoins):
 * at the media element's first `playing`, or `capMs` after the first segment was buffered if
 * playback did not start by then (autoplay blocked, a paused player), so P2P never waits on a click.
 */
export const STARTUP_JOIN_CAP_MS = 1000;

export class StartupGate {
  private media: EventTarget | null = null;
  private cap: ReturnType<typeof setTimeout> | undefined;
  private open = false;
  private readonly onPlaying = () => this.release();

  constructor(
    private readonly onOpen: () => void,
    private readonly capMs = STARTUP_JOIN_CAP_MS,
  ) {}

  /** Follows `media` for its `playing` event (a new element replaces the old one). */
  watch(media: EventTarget): void {
    this.media?.removeEventListener("playing", this.onPlaying);
    this.media = media;
    if (!this.open) media.addEventListener("playing", this.onPlaying);
  }

  /** A segment was buffered: start-up is over within `capMs` whatever the player does. */
  buffered(): void {
    if (this.open || this.cap !== undefined) return;
    this.cap = setTimeout(() => this.release(), this.capMs);
  }

  /** A new start-up (a new source): closed again until it is over. */
  reset(): void {
    this.stop();
    this.open = false;
    this.media?.addEventListener("playing", this.onPlaying);
  }

  get isOpen(): boolean {
    return this.open;
  }

  private release(): void {
    if (this.open) return;
    this.stop();
    this.open = true;
    this.onOpen();
  }

  stop(): void {
    clearTimeout(this.cap);
    this.cap = undefined;
    this.media?.removeEventListener("playing", this.onPlaying);
  }
}
