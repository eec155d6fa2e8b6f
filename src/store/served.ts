/**
 * A remote part as this node serves it to its workers: a method may answer at once instead
 * of with a promise (a rate check that needs no round trip is answered in the same turn).
 */
export type Served<T> = { [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R | Promise<R> : T[K] };
