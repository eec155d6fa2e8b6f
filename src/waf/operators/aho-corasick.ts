/**
 * Case-insensitive (ASCII) Aho-Corasick over bytes, compiled to a dense DFA: bytes are
 * mapped to classes (one per byte that occurs in some literal, plus "other"), and every
 * state has a full transition row, so scanning costs two array reads per byte. Used by
 * `@pm` / `@pmFromFile` and by the `@rx` literal prefilter.
 */

function fold(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** The compiled automaton. `outputs[state]` lists the literals ending there (suffixes included). */
export class LiteralAutomaton {
  /** Byte → class (0 = a byte no literal contains). */
  private readonly classOf = new Uint8Array(256);
  private readonly width: number;
  private readonly table: Int32Array;
  readonly outputs: Array<number[] | undefined>;

  /** Builds the automaton; `literals[i]` is reported as i. Empty literals are ignored. */
  constructor(literals: readonly string[]) {
    let classes = 1;
    for (const lit of literals) {
      for (let i = 0; i < lit.length; i++) {
        const c = fold(lit.charCodeAt(i) & 0xff);
        if (this.classOf[c] === 0) {
          this.classOf[c] = classes++;
          if (c >= 0x61 && c <= 0x7a) this.classOf[c - 32] = this.classOf[c] as number;
        }
      }
    }
    if (classes > 255) throw new Error('too many byte classes');
    this.width = classes;
    // Trie with sparse edges first.
    const edges: Array<Map<number, number>> = [new Map()];
    const own: number[][] = [[]];
    literals.forEach((lit, index) => {
      if (lit === '') return;
      let state = 0;
      for (let i = 0; i < lit.length; i++) {
        const k = this.classOf[fold(lit.charCodeAt(i) & 0xff)] as number;
        let to = edges[state]?.get(k);
        if (to === undefined) {
          to = edges.length;
          edges.push(new Map());
          own.push([]);
          edges[state]?.set(k, to);
        }
        state = to;
      }
      own[state]?.push(index);
    });
    // Dense DFA rows in breadth-first order: a missing edge follows the failure state's row.
    const w = this.width;
    const table = new Int32Array(edges.length * w);
    const fail = new Int32Array(edges.length);
    const outputs: Array<number[] | undefined> = new Array(edges.length);
    const queue: number[] = [];
    for (const [k, to] of edges[0] ?? []) {
      table[k] = to;
      queue.push(to);
    }
    for (let head = 0; head < queue.length; head++) {
      const s = queue[head] as number;
      const f = fail[s] as number;
      const merged = [...(own[s] ?? []), ...(outputs[f] ?? [])];
      outputs[s] = merged.length > 0 ? merged : undefined;
      // Missing edges follow the failure state's (complete) row: copy it, then set the real edges.
      table.copyWithin(s * w, f * w, f * w + w);
      for (const [k, to] of edges[s] ?? []) {
        fail[to] = table[f * w + k] as number;
        table[s * w + k] = to;
        queue.push(to);
      }
    }
    this.table = table;
    this.outputs = outputs;
  }

  /** Number of states (for per-state scratch arrays). */
  get states(): number {
    return this.outputs.length;
  }

  /**
   * Appends to `found` the ids of the literals occurring in `input`, each once. `seen`
   * (one entry per state, see `states`) is scratch space: states stamped with `stamp`
   * were already reported, so repeated states cost nothing and no closure is needed.
   */
  collect(input: string, seen: Int32Array, stamp: number, found: number[]): void {
    const table = this.table;
    const classOf = this.classOf;
    const w = this.width;
    const outputs = this.outputs;
    let state = 0;
    for (let i = 0; i < input.length; i++) {
      state = table[state * w + (classOf[input.charCodeAt(i) & 0xff] as number)] as number;
      const out = outputs[state];
      if (out === undefined || seen[state] === stamp) continue;
      seen[state] = stamp;
      for (let k = 0; k < out.length; k++) found.push(out[k] as number);
    }
  }

  /** Calls `onState` for every state reached that has outputs; stops when it returns true. */
  scan(input: string, onState: (outputs: number[], end: number) => boolean | void): void {
    const table = this.table;
    const classOf = this.classOf;
    const w = this.width;
    const outputs = this.outputs;
    let state = 0;
    for (let i = 0; i < input.length; i++) {
      state = table[state * w + (classOf[input.charCodeAt(i) & 0xff] as number)] as number;
      const out = outputs[state];
      if (out !== undefined && onState(out, i + 1) === true) return;
    }
  }
}

/** `@pm` matching: the first phrase found, as it appears in the input. */
export class PhraseMatcher {
  private readonly automaton: LiteralAutomaton;
  private readonly lengths: number[];

  /** Builds the automaton; empty phrases are ignored. */
  constructor(phrases: readonly string[]) {
    this.automaton = new LiteralAutomaton(phrases);
    this.lengths = phrases.map((p) => p.length);
  }

  /** The first phrase occurrence in `input` (its text as found), or undefined. */
  find(input: string): string | undefined {
    let found: string | undefined;
    this.automaton.scan(input, (out, end) => {
      let len = 0;
      for (const i of out) len = Math.max(len, this.lengths[i] as number);
      found = input.slice(end - len, end);
      return true;
    });
    return found;
  }
}
