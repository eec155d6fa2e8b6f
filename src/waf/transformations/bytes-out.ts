/**
 * Builds a latin1 byte string byte by byte. Transformations write decoded bytes here
 * instead of concatenating strings, which keeps them linear and fast on 100 KiB values.
 *
 * Allocating a buffer per call costs more than decoding a short value (typed arrays over
 * 64 bytes live outside the V8 heap), so one spare buffer is handed from builder to
 * builder: a builder takes it when it is free and big enough, and gives it back in
 * `toString`. Builders are used synchronously, one value at a time.
 */

/** Largest buffer kept as the spare (bigger ones are left to the GC). */
const SPARE_MAX = 64 * 1024;
let spare: Buffer | undefined = Buffer.allocUnsafe(4096);

export class ByteOut {
  private buf: Buffer;
  length = 0;

  /** `capacity`: the expected size (the buffer grows when needed). */
  constructor(capacity: number) {
    const s = spare;
    if (s !== undefined && s.length >= capacity) {
      spare = undefined;
      this.buf = s;
    } else this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  /** Appends one byte (0–255). */
  push(byte: number): void {
    if (this.length === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.buf[this.length++] = byte;
  }

  /** Appends the bytes of a latin1 string. */
  pushString(s: string): void {
    for (let i = 0; i < s.length; i++) this.push(s.charCodeAt(i) & 0xff);
  }

  /** Drops the last byte. */
  pop(): void {
    if (this.length > 0) this.length--;
  }

  /** The byte string written so far. Ends the builder: its buffer may go to the next one. */
  toString(): string {
    const buf = this.buf;
    const out = buf.toString('latin1', 0, this.length);
    if (buf.length <= SPARE_MAX && (spare === undefined || spare.length < buf.length)) spare = buf;
    return out;
  }
}
