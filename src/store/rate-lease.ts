import type { RateDecision } from './types.js';

/**
 * How long a site may spend a lease: a hit leased is spent within this long of its grant or
 * given back. Every hit is taken from the bucket when granted, so the cluster never allows
 * more hits than the bucket gave; a hit spent later than it was taken can only add, over a
 * stretch of time, what the bucket refilled meanwhile — at most the hits a lease held beyond
 * the one spent at once, and none where a lease is one hit (small limits, near the limit).
 * Long enough for a client far below its limit to spend one lease over many requests.
 */
export const LEASE_MS = 5_000;

/**
 * GCRA's answer for one more hit at `now` on a bucket whose theoretical arrival time is
 * `tat` (same unit as `now`): what a lease of one hit decides, and what a peek reads.
 */
export function gcraAnswer(tat: number, limit: number, periodMs: number, now: number): RateDecision {
  const interval = periodMs / limit;
  const next = Math.max(tat, now) + interval;
  const allowAt = next - periodMs;
  if (allowAt > now) return { allowed: false, retryAfterMs: Math.ceil(allowAt - now), remaining: 0 };
  return { allowed: true, retryAfterMs: 0, remaining: Math.floor((periodMs - (next - now)) / interval) };
}

/** A grant on a bucket: the hits (0: none) and the bucket's new arrival time, or how long until one hit fits. */
export interface BucketGrant {
  hits: number;
  tat: number;
  retryAfterMs: number;
}

/**
 * What gcra_core.lua grants, on this process's clock (ms): a share of the hits the bucket has
 * left over `sites` sites, `floor(left / (sites + 1))`, at least one and at most what is
 * left; none (with the wait) when not one fits. `sites` = Infinity grants one hit: the exact check.
 */
export function gcraGrant(tat: number, limit: number, periodMs: number, now: number, sites: number): BucketGrant {
  const interval = periodMs / limit;
  const held = Math.max(tat, now);
  // A hit fits while its arrival time stays within a period of now (a hair of slack for floats).
  const left = Math.floor((now + periodMs - held) / interval + 1e-9);
  if (left < 1) return { hits: 0, tat: held, retryAfterMs: Math.max(1, Math.ceil(held + interval - periodMs - now)) };
  const hits = Math.min(left, Math.max(1, Math.floor(left / (sites + 1))));
  return { hits, tat: held + hits * interval, retryAfterMs: 0 };
}

/** The bucket's arrival time once `hits` come back: moved back, never behind now (a full bucket stays full). */
export function gcraGiveBack(tat: number, limit: number, periodMs: number, hits: number, now: number): number {
  return Math.max(now, tat - hits * (periodMs / limit));
}
