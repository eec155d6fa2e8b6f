import { readFileSync, readdirSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; undefined
 * where /proc is not there (the bench then reports no CPU figures). On a shared machine a
 * neighbour that takes the CPU away slows the requests but not the work each one costs, so
 * CPU time per request says something req/s cannot (it still moves with the CPU's speed).
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * `pid` and every process below it (a Palisade primary and its workers), from
 * /proc/<pid>/task/<tid>/children; just `[pid]` where /proc does not say.
 */
export function processTree(pid: number | undefined): Array<number | undefined> {
  if (pid === undefined) return [undefined];
  const tree: number[] = [pid];
  for (let i = 0; i < tree.length; i++) {
    try {
      const current = tree[i]!;
      for (const task of readdirSync(`/proc/${current}/task`)) {
        const children = readFileSync(`/proc/${current}/task/${task}/children`, 'utf8').trim();
        if (children !== '') tree.push(...children.split(' ').map(Number));
      }
    } catch {
      // gone, or no /proc: what was found so far
    }
  }
  return tree;
}
