import { afterAll } from 'vitest';
import { NodeStore } from '../../src/store/store.js';
import { describeStoreContract } from '../helpers/store-contract.js';

const store = new NodeStore('local-node');
afterAll(() => store.close());
describeStoreContract('local (USE_REDIS=no)', () => ({ one: store, flushMetrics: () => store.flushMetrics() }), { shared: false });
