/**
 * ReDoS defence. V8 can switch a backtracking regex to its linear-time engine once a
 * match attempt exceeds a backtrack budget
 * (`--enable-experimental-regexp-engine-on-excessive-backtracks`). The flag can be set
 * at run time with `v8.setFlagsFromString` and applies to regexes executed afterwards
 * (it is read when a regex is first run). Patterns with back-references or
 * lookarounds cannot run on the linear engine and keep backtracking.
 */
import v8 from 'node:v8';

let enabled = false;

/** Backtracks allowed before V8 re-runs the match on the linear engine. */
export const BACKTRACK_BUDGET = 10000;

/** Turns the fallback on for the whole process (idempotent). */
export function enableLinearFallback(): void {
  if (enabled) return;
  v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  v8.setFlagsFromString(`--regexp-backtracks-before-fallback=${BACKTRACK_BUDGET}`);
  enabled = true;
}

/** True once `enableLinearFallback` ran in this process. */
export function linearFallbackEnabled(): boolean {
  return enabled;
}

/** True when V8's linear engine can run `source` (no back-references or lookarounds). */
export function linearEngineCanRun(source: string): boolean {
  return !/\\[1-9]|\\k<|\(\?<?[=!]/.test(source);
}
