/** What every player adapter's client shares: the player-free core, its stats and events, the upload switch. */
import type { CoreConfigInput } from "../core/config.js";
import { MeshCore } from "../core/core.js";
import type { MeshCdnEvents, MeshCdnStats } from "../core/types.js";

export class PlayerClientBase {
  readonly core: MeshCore;

  constructor(config: CoreConfigInput) {
    this.core = new MeshCore(config);
  }

  stats(): MeshCdnStats {
    return this.core.stats();
  }

  on<K extends keyof MeshCdnEvents>(event: K, fn: MeshCdnEvents[K]): this {
    this.core.on(event, fn);
    return this;
  }

  off<K extends keyof MeshCdnEvents>(event: K, fn: MeshCdnEvents[K]): this {
    this.core.off(event, fn);
    return this;
  }

  /** Turns uploading to peers off (true) or back to the policy's decision (false). */
  setUploadDisabled(disabled: boolean): void {
    this.core.setUploadDisabled(disabled);
  }
}
