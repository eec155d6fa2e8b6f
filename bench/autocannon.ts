import { createRequire } from 'node:module';
import type { LoadOptions, LoadResult } from './report.js';

/** The part of autocannon 9's programmatic API the bench uses (the package ships no types). */
interface AutocannonResult {
  requests: { average: number };
  latency: { p99: number };
  errors: number;
  /** Included in `errors`. */
  timeouts: number;
  non2xx: number;
}
type Autocannon = (
  options: {
    url: string;
    connections: number;
    duration: number;
    timeout: number;
    requests?: Array<{ setupRequest(request: { headers?: Record<string, string> }): unknown }>;
  },
  done: (error: Error | null, result: AutocannonResult) => void,
) => unknown;

/**
 * Runs autocannon in this process (the targets are all in children, so they do not compete
 * with it for an event loop, only for CPU). Loaded only when wrk is missing.
 */
export function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  return new Promise((resolve, reject) => {
    const clients = options.clients;
    const spread = clients
      ? [
          {
            setupRequest: (request: { headers?: Record<string, string> }) => {
              const n = Math.floor(Math.random() * clients);
              request.headers = { ...request.headers, 'x-forwarded-for': `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}` };
              return request;
            },
          },
        ]
      : undefined;
    autocannon(
      { url: options.url.href, connections: options.connections, duration: options.durationSec, timeout: 5, ...(spread ? { requests: spread } : {}) },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          rps: result.requests.average,
          p99Ms: result.latency.p99,
          // autocannon already counts a timeout in `errors` as well.
          errors: result.errors + result.non2xx,
          ...(result.errors + result.non2xx > 0 ? { errorKinds: `socket ${result.errors} (timeouts ${result.timeouts}), non-2xx ${result.non2xx}` } : {}),
        });
      },
    );
  });
}
