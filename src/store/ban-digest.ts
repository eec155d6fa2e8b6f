/**
 * A digest of a ban table that two holders can compare without exchanging the table: the
 * XOR of one 32-bit hash per banned target, kept per minute of the ban's expiry.
 * XOR makes it order-free and incremental (adding and removing a ban are the same
 * toggle), so a node keeps it as its table changes and Redis keeps it in the script that
 * applies ban changes (`ban_apply.lua`, which hashes the same way, over its ban index).
 * A missed ban, a missed lift and a missed renewal to another minute all show; a renewal
 * within the same minute (only the reason or the actor differ) does not, by design: the
 * digest follows the index, which survives a lost record.
 *
 * Expiry buckets exist because bans leave on their own: a node drops an expired ban when it
 * sees it, Redis when its sweep runs. Comparing only the buckets that end after the next
 * minute ({@link comparableFrom}) leaves out what is about to expire, so two holders of
 * the same bans agree whatever their sweeps did.
 */

/** Width of an expiry bucket. */
export const DIGEST_BUCKET_MS = 60_000;
/** The bucket of permanent bans. */
export const PERMANENT_BUCKET = 'p';
/** The field of Redis's digest hash saying it covers every record (built, or rebuilt). */
export const DIGEST_COMPLETE_FIELD = 'complete';

/**
 * FNV-1a, 32 bits, over the UTF-16 code units of `target` (targets are ASCII, so these are
 * the bytes Lua hashes). Signed, like Lua's `bit` results.
 */
export function banHash(target: string): number {
  let hash = 0x811c9dc5 | 0;
  for (let i = 0; i < target.length; i++) hash = Math.imul(hash ^ target.charCodeAt(i), 0x01000193);
  return hash;
}

/** The bucket a ban expiring at `expiresAt` (null: permanent) belongs to. */
export function bucketOf(expiresAt: number | null): string {
  return expiresAt === null ? PERMANENT_BUCKET : String(Math.floor(expiresAt / DIGEST_BUCKET_MS));
}

/** The first bucket compared at `now`: buckets ending within the next minute are left out. */
export function comparableFrom(now: number): number {
  return Math.floor(now / DIGEST_BUCKET_MS) + 2;
}

/** A digest as operators see it: eight hex digits. */
export function digestText(digest: number): string {
  return (digest >>> 0).toString(16).padStart(8, '0');
}

/** XOR of the buckets in `buckets` (bucket → signed 32-bit value) from bucket `from` on, permanent included. */
export function foldBuckets(buckets: Iterable<[string, number]>, from: number): number {
  let digest = 0;
  for (const [bucket, value] of buckets) {
    if (bucket === PERMANENT_BUCKET || Number(bucket) >= from) digest ^= value;
  }
  return digest;
}

/** The digest of one ban table, kept as the table changes. */
export class BanDigest {
  private readonly buckets = new Map<string, number>();

  /** Adds a ban, or removes it when it is there (the same toggle). */
  toggle(target: string, expiresAt: number | null): void {
    const bucket = bucketOf(expiresAt);
    const value = (this.buckets.get(bucket) ?? 0) ^ banHash(target);
    if (value === 0) this.buckets.delete(bucket);
    else this.buckets.set(bucket, value);
  }

  /** The digest of the bans in buckets from `from` on (see {@link comparableFrom}). */
  from(from: number): number {
    return foldBuckets(this.buckets, from);
  }
}
