/** A transformation takes a latin1 byte string and returns the transformed byte string. */
export type Transformation = (input: string) => string;
