/**
 * Builds a latin1 byte string byte by byte. Transformations write decoded bytes here
 * instead of concatenating strings, which keeps them linear and fast on 100 KiB values.
 */
export class ByteOut {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  /** Appends one byte (0–255). */
  push(byte: number): void {
    if (this.length === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
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

  /** The byte string written so far. */
  toString(): string {
    // Short results: fromCharCode avoids the Buffer round trip.
    if (this.length <= 512) return String.fromCharCode.apply(null, this.buf.subarray(0, this.length) as unknown as number[]);
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.length).toString('latin1');
  }
}
