/**
 * A small HTML5 tokenizer for the XSS detector, after the HTML5 spec's tokenizer states but
 * simplified as libinjection 3.9.2 simplifies them (and with its browser quirks: NUL ignored in
 * tag names, IE's `quoted` values and <% %> comments). It reports tags, attribute names and
 * values, comments and doctypes as offsets into the input; it never builds strings.
 *
 * The C code moves between states by calling one state function from another; here `next()`
 * loops over a state number instead, which behaves the same without deep recursion.
 */

/** Token types reported by {@link Html5Tokenizer.next}. */
export const Html5Type = {
  DataText: 0,
  TagNameOpen: 1,
  TagNameClose: 2,
  TagNameSelfClose: 3,
  TagData: 4,
  TagClose: 5,
  AttrName: 6,
  AttrValue: 7,
  TagComment: 8,
  Doctype: 9,
} as const;
/** One of {@link Html5Type}. */
export type Html5Type = (typeof Html5Type)[keyof typeof Html5Type];

/** Where tokenizing starts: in text, or inside an attribute value of some quoting. */
export const Html5Start = {
  Data: 0,
  ValueNoQuote: 1,
  ValueSingleQuote: 2,
  ValueDoubleQuote: 3,
  ValueBackQuote: 4,
} as const;
/** One of {@link Html5Start}. */
export type Html5Start = (typeof Html5Start)[keyof typeof Html5Start];

// States
const S_EOF = 0;
const S_DATA = 1;
const S_TAG_OPEN = 2;
const S_END_TAG_OPEN = 3;
const S_TAG_NAME = 4;
const S_TAG_NAME_CLOSE = 5;
const S_BEFORE_ATTR_NAME = 6;
const S_ATTR_NAME = 7;
const S_AFTER_ATTR_NAME = 8;
const S_BEFORE_ATTR_VALUE = 9;
const S_ATTR_VALUE_DOUBLE = 10;
const S_ATTR_VALUE_SINGLE = 11;
const S_ATTR_VALUE_BACK = 12;
const S_ATTR_VALUE_NO_QUOTE = 13;
const S_AFTER_ATTR_VALUE_QUOTED = 14;
const S_SELF_CLOSING_START_TAG = 15;
const S_BOGUS_COMMENT = 16;
const S_BOGUS_COMMENT2 = 17;
const S_MARKUP_DECLARATION_OPEN = 18;
const S_COMMENT = 19;
const S_CDATA = 20;
const S_DOCTYPE = 21;

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const PERCENT = 0x25;
const EQUALS = 0x3d;
const DASH = 0x2d;
const DOUBLE = 0x22;
const SINGLE = 0x27;
const TICK = 0x60;
const RIGHT_BRACKET = 0x5d;

/** Returned by skipWhite at the end of the input. */
const EOF = -1;

/** Space, \t \n \v \f \r, and NUL (the C test looks bytes up in a C string, which finds its NUL). */
function isWhite(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** Tokenizer over one input; call {@link next} until it returns false. */
export class Html5Tokenizer {
  private s = '';
  private len = 0;
  private pos = 0;
  private isClose = false;
  private state = S_EOF;
  /** Type of the last token. */
  tokenType: Html5Type = Html5Type.DataText;
  /** Offset of the last token in the input. */
  tokenStart = 0;
  /** Length of the last token. */
  tokenLen = 0;

  /** Starts over on `s` (one byte per char), in the given start state. */
  init(s: string, start: Html5Start): void {
    this.s = s;
    this.len = s.length;
    this.pos = 0;
    this.isClose = false;
    this.tokenType = Html5Type.DataText;
    this.tokenStart = 0;
    this.tokenLen = 0;
    switch (start) {
      case Html5Start.Data:
        this.state = S_DATA;
        break;
      case Html5Start.ValueNoQuote:
        this.state = S_BEFORE_ATTR_NAME;
        break;
      case Html5Start.ValueSingleQuote:
        this.state = S_ATTR_VALUE_SINGLE;
        break;
      case Html5Start.ValueDoubleQuote:
        this.state = S_ATTR_VALUE_DOUBLE;
        break;
      case Html5Start.ValueBackQuote:
        this.state = S_ATTR_VALUE_BACK;
        break;
    }
  }

  private emit(type: Html5Type, start: number, len: number): true {
    this.tokenType = type;
    this.tokenStart = start;
    this.tokenLen = len;
    return true;
  }

  /**
   * Skips white space (NUL included) and returns the next byte, or EOF. Like the C code, which
   * returns a signed char here, a 0xFF byte reads as EOF.
   */
  private skipWhite(): number {
    const s = this.s;
    while (this.pos < this.len) {
      const c = s.charCodeAt(this.pos);
      if (c === 0 || c === 0x20 || (c >= 0x09 && c <= 0x0d)) {
        this.pos += 1;
      } else {
        return c === 0xff ? EOF : c;
      }
    }
    return EOF;
  }

  /** Reads the next token into tokenType/tokenStart/tokenLen; false at the end. */
  next(): boolean {
    const s = this.s;
    const len = this.len;
    let state = this.state;
    for (;;) {
      switch (state) {
        case S_EOF:
          return false;

        case S_DATA: {
          const lt = s.indexOf('<', this.pos);
          if (lt < 0) {
            this.state = S_EOF;
            if (len - this.pos === 0) return false;
            return this.emit(Html5Type.DataText, this.pos, len - this.pos);
          }
          const start = this.pos;
          this.pos = lt + 1;
          this.state = S_TAG_OPEN;
          if (lt === start) {
            state = S_TAG_OPEN;
            continue;
          }
          return this.emit(Html5Type.DataText, start, lt - start);
        }

        case S_TAG_OPEN: {
          if (this.pos >= len) return false;
          const c = s.charCodeAt(this.pos);
          if (c === BANG) {
            this.pos += 1;
            state = S_MARKUP_DECLARATION_OPEN;
          } else if (c === SLASH) {
            this.pos += 1;
            this.isClose = true;
            state = S_END_TAG_OPEN;
          } else if (c === QUESTION) {
            this.pos += 1;
            state = S_BOGUS_COMMENT;
          } else if (c === PERCENT) {
            // <% %>: not HTML5, but IE <= 9 and old Safari read it as a comment
            this.pos += 1;
            state = S_BOGUS_COMMENT2;
          } else if (isAsciiLetter(c) || c === 0) {
            // NUL: IE ignores it
            state = S_TAG_NAME;
          } else if (this.pos === 0) {
            state = S_DATA;
          } else {
            // "<" not starting a tag is text
            this.state = S_DATA;
            return this.emit(Html5Type.DataText, this.pos - 1, 1);
          }
          continue;
        }

        case S_END_TAG_OPEN: {
          if (this.pos >= len) return false;
          const c = s.charCodeAt(this.pos);
          if (c === GT) {
            state = S_DATA;
          } else if (isAsciiLetter(c)) {
            state = S_TAG_NAME;
          } else {
            this.isClose = false;
            state = S_BOGUS_COMMENT;
          }
          continue;
        }

        case S_TAG_NAME_CLOSE: {
          this.isClose = false;
          const at = this.pos;
          this.pos += 1;
          this.state = this.pos < len ? S_DATA : S_EOF;
          return this.emit(Html5Type.TagNameClose, at, 1);
        }

        case S_TAG_NAME: {
          const start = this.pos;
          for (let p = start; p < len; p++) {
            const c = s.charCodeAt(p);
            if (c === 0) continue; // old browsers ignore NUL in tag names
            if (isWhite(c)) {
              this.pos = p + 1;
              this.state = S_BEFORE_ATTR_NAME;
              return this.emit(Html5Type.TagNameOpen, start, p - start);
            }
            if (c === SLASH) {
              this.pos = p + 1;
              this.state = S_SELF_CLOSING_START_TAG;
              return this.emit(Html5Type.TagNameOpen, start, p - start);
            }
            if (c === GT) {
              if (this.isClose) {
                this.pos = p + 1;
                this.isClose = false;
                this.state = S_DATA;
                return this.emit(Html5Type.TagClose, start, p - start);
              }
              this.pos = p;
              this.state = S_TAG_NAME_CLOSE;
              return this.emit(Html5Type.TagNameOpen, start, p - start);
            }
          }
          this.state = S_EOF;
          return this.emit(Html5Type.TagNameOpen, start, len - start);
        }

        case S_BEFORE_ATTR_NAME: {
          const c = this.skipWhite();
          if (c === EOF) return false;
          if (c === SLASH) {
            this.pos += 1;
            state = S_SELF_CLOSING_START_TAG;
          } else if (c === GT) {
            this.state = S_DATA;
            const at = this.pos;
            this.pos += 1;
            return this.emit(Html5Type.TagNameClose, at, 1);
          } else {
            state = S_ATTR_NAME;
          }
          continue;
        }

        case S_ATTR_NAME: {
          // The first byte belongs to the name whatever it is.
          const start = this.pos;
          for (let p = start + 1; p < len; p++) {
            const c = s.charCodeAt(p);
            if (isWhite(c)) {
              this.state = S_AFTER_ATTR_NAME;
              this.pos = p + 1;
              return this.emit(Html5Type.AttrName, start, p - start);
            }
            if (c === SLASH) {
              this.state = S_SELF_CLOSING_START_TAG;
              this.pos = p + 1;
              return this.emit(Html5Type.AttrName, start, p - start);
            }
            if (c === EQUALS) {
              this.state = S_BEFORE_ATTR_VALUE;
              this.pos = p + 1;
              return this.emit(Html5Type.AttrName, start, p - start);
            }
            if (c === GT) {
              this.state = S_TAG_NAME_CLOSE;
              this.pos = p;
              return this.emit(Html5Type.AttrName, start, p - start);
            }
          }
          this.state = S_EOF;
          this.pos = len;
          return this.emit(Html5Type.AttrName, start, len - start);
        }

        case S_AFTER_ATTR_NAME: {
          const c = this.skipWhite();
          if (c === EOF) return false;
          if (c === SLASH) {
            this.pos += 1;
            state = S_SELF_CLOSING_START_TAG;
          } else if (c === EQUALS) {
            this.pos += 1;
            state = S_BEFORE_ATTR_VALUE;
          } else if (c === GT) {
            state = S_TAG_NAME_CLOSE;
          } else {
            state = S_ATTR_NAME;
          }
          continue;
        }

        case S_BEFORE_ATTR_VALUE: {
          const c = this.skipWhite();
          if (c === EOF) {
            this.state = S_EOF;
            return false;
          }
          state = c === DOUBLE ? S_ATTR_VALUE_DOUBLE : c === SINGLE ? S_ATTR_VALUE_SINGLE : c === TICK ? S_ATTR_VALUE_BACK : S_ATTR_VALUE_NO_QUOTE;
          continue;
        }

        case S_ATTR_VALUE_DOUBLE:
        case S_ATTR_VALUE_SINGLE:
        case S_ATTR_VALUE_BACK: {
          const quote = state === S_ATTR_VALUE_DOUBLE ? '"' : state === S_ATTR_VALUE_SINGLE ? "'" : '`';
          // Skip the opening quote, except when starting inside a value (pos 0): then an input
          // like '><foo begins with an empty value.
          if (this.pos > 0) this.pos += 1;
          const start = this.pos;
          const end = s.indexOf(quote, start);
          if (end < 0) {
            this.state = S_EOF;
            return this.emit(Html5Type.AttrValue, start, len - start);
          }
          this.state = S_AFTER_ATTR_VALUE_QUOTED;
          this.pos = end + 1;
          return this.emit(Html5Type.AttrValue, start, end - start);
        }

        case S_ATTR_VALUE_NO_QUOTE: {
          const start = this.pos;
          for (let p = start; p < len; p++) {
            const c = s.charCodeAt(p);
            if (isWhite(c)) {
              this.pos = p + 1;
              this.state = S_BEFORE_ATTR_NAME;
              return this.emit(Html5Type.AttrValue, start, p - start);
            }
            if (c === GT) {
              this.pos = p;
              this.state = S_TAG_NAME_CLOSE;
              return this.emit(Html5Type.AttrValue, start, p - start);
            }
          }
          this.state = S_EOF;
          return this.emit(Html5Type.AttrValue, start, len - start);
        }

        case S_AFTER_ATTR_VALUE_QUOTED: {
          if (this.pos >= len) return false;
          const c = s.charCodeAt(this.pos);
          if (isWhite(c)) {
            this.pos += 1;
            state = S_BEFORE_ATTR_NAME;
          } else if (c === SLASH) {
            this.pos += 1;
            state = S_SELF_CLOSING_START_TAG;
          } else if (c === GT) {
            const at = this.pos;
            this.pos += 1;
            this.state = S_DATA;
            return this.emit(Html5Type.TagNameClose, at, 1);
          } else {
            state = S_BEFORE_ATTR_NAME;
          }
          continue;
        }

        case S_SELF_CLOSING_START_TAG: {
          if (this.pos >= len) return false;
          if (s.charCodeAt(this.pos) === GT) {
            const at = this.pos - 1;
            this.state = S_DATA;
            this.pos += 1;
            return this.emit(Html5Type.TagNameSelfClose, at, 2);
          }
          state = S_BEFORE_ATTR_NAME;
          continue;
        }

        case S_BOGUS_COMMENT: {
          const start = this.pos;
          const gt = s.indexOf('>', start);
          if (gt < 0) {
            this.pos = len;
            this.state = S_EOF;
            return this.emit(Html5Type.TagComment, start, len - start);
          }
          this.pos = gt + 1;
          this.state = S_DATA;
          return this.emit(Html5Type.TagComment, start, gt - start);
        }

        case S_BOGUS_COMMENT2: {
          // <% ... %>
          const start = this.pos;
          let from = start;
          for (;;) {
            const pct = s.indexOf('%', from);
            if (pct < 0 || pct + 1 >= len) {
              this.pos = len;
              this.state = S_EOF;
              return this.emit(Html5Type.TagComment, start, len - start);
            }
            if (s.charCodeAt(pct + 1) !== GT) {
              from = pct + 1;
              continue;
            }
            this.pos = pct + 2;
            this.state = S_DATA;
            return this.emit(Html5Type.TagComment, start, pct - start);
          }
        }

        case S_MARKUP_DECLARATION_OPEN: {
          const p = this.pos;
          const remaining = len - p;
          if (remaining >= 7 && isDoctype(s, p)) {
            state = S_DOCTYPE;
          } else if (remaining >= 7 && s.startsWith('[CDATA[', p)) {
            this.pos += 7;
            state = S_CDATA;
          } else if (remaining >= 2 && s.charCodeAt(p) === DASH && s.charCodeAt(p + 1) === DASH) {
            this.pos += 2;
            state = S_COMMENT;
          } else {
            state = S_BOGUS_COMMENT;
          }
          continue;
        }

        case S_COMMENT:
          return this.comment();

        case S_CDATA: {
          const start = this.pos;
          let from = start;
          for (;;) {
            const rb = s.indexOf(']', from);
            if (rb < 0 || rb > len - 3) {
              this.state = S_EOF;
              return this.emit(Html5Type.DataText, start, len - start);
            }
            if (s.charCodeAt(rb + 1) === RIGHT_BRACKET && s.charCodeAt(rb + 2) === GT) {
              this.state = S_DATA;
              this.pos = rb + 3;
              return this.emit(Html5Type.DataText, start, rb - start);
            }
            from = rb + 1;
          }
        }

        case S_DOCTYPE: {
          const start = this.pos;
          const gt = s.indexOf('>', start);
          if (gt < 0) {
            this.state = S_EOF;
            return this.emit(Html5Type.Doctype, start, len - start);
          }
          this.state = S_DATA;
          this.pos = gt + 1;
          return this.emit(Html5Type.Doctype, start, gt - start);
        }

        default:
          return false;
      }
    }
  }

  /** "<!--" comments: they end at "-->" or "-!>" (NULs allowed after the first '-'), or at EOF. */
  private comment(): boolean {
    const s = this.s;
    const len = this.len;
    const start = this.pos;
    let from = start;
    for (;;) {
      const dash = s.indexOf('-', from);
      if (dash < 0 || dash > len - 3) break;
      let at = dash + 1;
      while (at < len && s.charCodeAt(at) === 0) at++;
      if (at === len) break;
      const c = s.charCodeAt(at);
      if (c !== DASH && c !== BANG) {
        from = dash + 1;
        continue;
      }
      at += 1;
      if (at === len) break;
      if (s.charCodeAt(at) !== GT) {
        from = dash + 1;
        continue;
      }
      this.pos = at + 1;
      this.state = S_DATA;
      return this.emit(Html5Type.TagComment, start, dash - start);
    }
    this.state = S_EOF;
    return this.emit(Html5Type.TagComment, start, len - start);
  }
}

function isDoctype(s: string, p: number): boolean {
  const word = 'DOCTYPE';
  for (let i = 0; i < 7; i++) {
    const c = s.charCodeAt(p + i);
    const u = word.charCodeAt(i);
    if (c !== u && c !== u + 0x20) return false;
  }
  return true;
}
