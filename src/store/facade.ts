import { LocalStore } from './local.js';
import type { BanFacet, ClusterStore, SharedBackend, StoreHealth } from './types.js';

/**
 * The one store object every plugin and the core hold. It starts local; when the redis
 * plugin shares a backend, health (and, with the cluster store, the facets) follow it,
 * without plugins having to hold a new reference.
 */
export class StoreFacade implements ClusterStore {
  private readonly local: LocalStore;
  private shared: { backend: SharedBackend; owner: string } | undefined;

  constructor(nodeName: string) {
    this.local = new LocalStore(nodeName);
  }

  get bans(): BanFacet {
    return this.local.bans;
  }

  /** Called through `PluginContext.shareStore`; a second provider is a programming error. */
  attach(backend: SharedBackend, owner: string): void {
    if (this.shared) throw new Error(`plugin ${owner} cannot share a store: ${this.shared.owner} already does`);
    this.shared = { backend, owner };
  }

  health(): StoreHealth {
    return this.shared ? this.shared.backend.health() : this.local.health();
  }

  async close(): Promise<void> {
    await this.local.close();
  }
}
