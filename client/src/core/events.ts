/** A small typed event emitter (the client's public events are listed in `MeshCdnEvents`). */

export class TypedEmitter<M extends { [K in keyof M]: (...args: never[]) => void }> {
  private readonly listeners = new Map<keyof M, Set<M[keyof M]>>();

  on<K extends keyof M>(event: K, fn: M[K]): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return this;
  }

  off<K extends keyof M>(event: K, fn: M[K]): this {
    this.listeners.get(event)?.delete(fn);
    return this;
  }

  protected emit<K extends keyof M>(event: K, ...args: Parameters<M[K]>): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) {
      try {
        (fn as (...a: Parameters<M[K]>) => void)(...args);
      } catch (e) {
        // A listener's bug must not break segment delivery.
        console.error(`meshcdn: listener for ${String(event)} threw`, e);
      }
    }
  }
}
