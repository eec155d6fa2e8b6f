/** Shared types of the request body processors. */

/** A name/value pair in arrival order (names as received). */
export interface Pair {
  key: string;
  value: string;
}

/** What a body processor extracts. Strings are latin1 byte strings. */
export interface BodyResult {
  /** Arguments (ARGS_POST). */
  args: Pair[];
  /** Set when the body could not be parsed (REQBODY_ERROR = 1). */
  error: string | undefined;
}
