import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/memory.js';

describe('collectGarbage', () => {
  it('frees what nothing refers to any more, on demand', () => {
    let garbage: Array<{ i: number; text: string }> | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, text: `entry ${i}` }));
    const held = process.memoryUsage().heapUsed;
    expect(garbage).toHaveLength(200_000);
    garbage = undefined;
    collectGarbage();
    expect(process.memoryUsage().heapUsed).toBeLessThan(held - 5 * 1024 * 1024);
    // Twice is fine: the collector is set up once.
    collectGarbage();
  });
});
