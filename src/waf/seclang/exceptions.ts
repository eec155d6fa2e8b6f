/** Configuration-time rule exceptions, applied once every file has been read. */
import type { RawAction } from './actions-parser.js';

/** SecRuleRemoveBy*, SecRuleUpdateTargetBy*, SecRuleUpdateActionById, in reading order. */
export type ConfigException =
  | { kind: 'removeById'; ranges: Array<[number, number]> }
  | { kind: 'removeByTag'; pattern: RegExp }
  | { kind: 'removeByMsg'; pattern: RegExp }
  | { kind: 'updateTargetById'; ranges: Array<[number, number]>; targets: string; replaced: string | undefined }
  | { kind: 'updateTargetByTag'; pattern: RegExp; targets: string; replaced: string | undefined }
  | { kind: 'updateTargetByMsg'; pattern: RegExp; targets: string; replaced: string | undefined }
  | { kind: 'updateActionById'; id: number; actions: RawAction[] };

/** True when `id` is inside one of `ranges`. */
export function inRanges(id: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  for (const [lo, hi] of ranges) if (id >= lo && id <= hi) return true;
  return false;
}
