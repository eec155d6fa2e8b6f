import pino from 'pino';
import type { NodeStore } from '../../src/store/store.js';
import { channelPair } from '../../src/workers/channels.js';
import { StoreService } from '../../src/store/primary/store-service.js';
import { WorkerStore } from '../../src/store/primary/worker-store.js';

/** A worker's store served by `primary` over an in-process channel (JSON round trips, like IPC). */
export interface AttachedWorker {
  readonly store: WorkerStore;
  close(): Promise<void>;
}

/** Attaches a worker's store to `primary` and resolves once it loaded the primary's bans. */
export async function attachWorker(primary: NodeStore): Promise<AttachedWorker> {
  const [workerEnd, primaryEnd] = channelPair();
  const service = new StoreService(primary, primaryEnd, pino({ level: 'silent' }));
  const store = new WorkerStore(workerEnd, primary.health());
  await store.loaded;
  return {
    store,
    async close() {
      await store.close();
      service.close();
    },
  };
}
