import { Pool } from 'undici';
import PoolFromItsFile from 'undici/lib/dispatcher/pool.js';
import { describe, expect, it } from 'vitest';

/**
 * The forwarder loads undici's Pool from its own file, not undici's index (which loads every
 * dispatcher, its mocks and its fetch at each process start): on an undici upgrade that moves
 * the file or changes what it exports, this fails before anything forwards.
 */
describe("undici's Pool, from its own file", () => {
  it("is undici's exported Pool, with the dispatch the forwarder calls", () => {
    expect(PoolFromItsFile).toBe(Pool);
    expect(typeof PoolFromItsFile.prototype.dispatch).toBe('function');
    expect(typeof PoolFromItsFile.prototype.destroy).toBe('function');
  });
});
