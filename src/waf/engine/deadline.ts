/**
 * A hard deadline for synchronous work, including a single regex execution: the task
 * runs inside `vm` with a `timeout`, whose watchdog terminates JavaScript execution —
 * V8 honours that even inside its regex engine, which nothing else can interrupt.
 *
 * A terminated task stops at an arbitrary point. The engine's caches shared between
 * transactions are written so that any prefix of their updates is valid (entries are
 * stored once complete, flags set last); the transaction that was cut off is abandoned
 * by its caller (fail closed).
 *
 * Each call starts a watchdog (about 0.1 ms of CPU), so only requests carrying large
 * values — the ones whose inspection can run long — go through here.
 */
import vm from 'node:vm';

const context = vm.createContext({ task: undefined as (() => unknown) | undefined });
const script = new vm.Script('task()', { filename: 'waf-deadline' });

/** Runs `task`; returns false when it was cut off after `ms` milliseconds (its work is abandoned). */
export function runBefore(task: () => void, ms: number): boolean {
  if (ms <= 0) return false;
  context['task'] = task;
  try {
    script.runInContext(context, { timeout: Math.max(1, Math.floor(ms)) });
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return false;
    throw e;
  } finally {
    context['task'] = undefined;
  }
}
