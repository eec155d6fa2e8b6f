/**
 * JSON request bodies. Argument names follow ModSecurity 3: the root is `json`, object
 * members append `.key`, array elements append `.array_N` to the array's own name; e.g.
 * `{"a":{"b":1},"c":[5,6]}` gives `json.a.b=1`, `json.c.array_0=5`, `json.c.array_1=6`.
 * Scalars become text: strings decoded (escapes to UTF-8 bytes), numbers as written,
 * `true`/`false`, and `null` as an empty value.
 */
import type { BodyResult, Pair } from './types.js';

// Deep enough for real documents, shallow enough for the recursive parser.
const MAX_DEPTH = 1000;

interface Container {
  name: string;
  array: boolean;
  count: number;
}

class JsonError extends Error {}

/** Parses `body` (latin1 bytes of UTF-8 JSON). */
export function parseJsonBody(body: string): BodyResult {
  const args: Pair[] = [];
  const p = new Parser(body, args);
  try {
    p.skipWs();
    if (p.pos >= body.length) throw new JsonError('empty JSON body');
    p.value();
    p.skipWs();
    if (p.pos < body.length) throw new JsonError(`trailing garbage at offset ${p.pos}`);
    return { args, error: undefined };
  } catch (e) {
    if (e instanceof JsonError) return { args, error: `JSON parsing error: ${e.message}` };
    throw e;
  }
}

class Parser {
  pos = 0;
  private readonly stack: Container[] = [];
  private currentKey = '';
  constructor(
    private readonly s: string,
    private readonly args: Pair[],
  ) {}

  skipWs(): void {
    while (this.pos < this.s.length && ' \t\r\n'.includes(this.s[this.pos] as string)) this.pos++;
  }

  private keyName(): string {
    if (this.stack.length === 0) return 'json';
    return this.currentKey === '' ? 'empty-key' : this.currentKey;
  }

  private add(value: string): void {
    let path = '';
    for (const c of this.stack) path += c.array ? `${c.name}.array_${c.count}` : `${c.name}.`;
    const top = this.stack[this.stack.length - 1];
    let name = path;
    if (top?.array) top.count++;
    else name += this.keyName();
    this.args.push({ key: name, value });
  }

  private endContainer(): void {
    this.stack.pop();
    const top = this.stack[this.stack.length - 1];
    if (top?.array) top.count++;
  }

  value(): void {
    this.skipWs();
    const c = this.s[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.add(this.string());
    const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(this.s.slice(this.pos, this.pos + 400));
    if (!lit) throw new JsonError(`unexpected '${c ?? 'end of input'}' at offset ${this.pos}`);
    this.pos += lit[0].length;
    this.add(lit[0] === 'null' ? '' : lit[0]);
  }

  private open(array: boolean): void {
    if (this.stack.length >= MAX_DEPTH) throw new JsonError('nesting too deep');
    this.stack.push({ name: this.keyName(), array, count: 0 });
    this.pos++;
  }

  private object(): void {
    this.open(false);
    this.skipWs();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return this.endContainer();
    }
    for (;;) {
      this.skipWs();
      if (this.s[this.pos] !== '"') throw new JsonError(`expected a key at offset ${this.pos}`);
      this.currentKey = this.string();
      this.skipWs();
      if (this.s[this.pos] !== ':') throw new JsonError(`expected ':' at offset ${this.pos}`);
      this.pos++;
      this.value();
      this.skipWs();
      const c = this.s[this.pos++];
      if (c === '}') return this.endContainer();
      if (c !== ',') throw new JsonError(`expected ',' or '}' at offset ${this.pos - 1}`);
    }
  }

  private array(): void {
    this.open(true);
    this.skipWs();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return this.endContainer();
    }
    for (;;) {
      this.value();
      this.skipWs();
      const c = this.s[this.pos++];
      if (c === ']') return this.endContainer();
      if (c !== ',') throw new JsonError(`expected ',' or ']' at offset ${this.pos - 1}`);
    }
  }

  private string(): string {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.s[this.pos];
      if (c === undefined) throw new JsonError('unterminated string');
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c.charCodeAt(0) < 0x20) throw new JsonError(`control character in string at offset ${this.pos}`);
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const e = this.s[this.pos + 1];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && simple[e] !== undefined) {
        out += simple[e];
        this.pos += 2;
        continue;
      }
      if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.s.slice(this.pos + 2, this.pos + 6))) {
        let cp = parseInt(this.s.slice(this.pos + 2, this.pos + 6), 16);
        this.pos += 6;
        if (cp >= 0xd800 && cp <= 0xdbff && this.s.startsWith('\\u', this.pos)) {
          const low = parseInt(this.s.slice(this.pos + 2, this.pos + 6), 16);
          if (low >= 0xdc00 && low <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            this.pos += 6;
          }
        }
        out += Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
        continue;
      }
      throw new JsonError(`invalid escape at offset ${this.pos}`);
    }
  }
}
