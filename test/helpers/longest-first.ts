import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { readFileDurations } from '../../scripts/file-durations.js';

/**
 * Runs the longest files first, so that the last file to start is a short one: in file-size
 * order — vitest's choice on a fresh clone, which has no results cache — two of the longest
 * files started last and ran nearly alone at the end. A file's duration is vitest's own from
 * the last run when it has one, else the committed table's; a file known to neither runs
 * first, as vitest does with unknown files.
 */
export default class LongestFirstSequencer extends BaseSequencer {
  private readonly table = readFileDurations().seconds;

  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const seconds = (spec: TestSpecification): number => {
      const path = relative(root, spec.moduleId);
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`);
      if (cached && !cached.failed) return cached.duration / 1000;
      return this.table[path] ?? Infinity;
    };
    return [...files].sort((a, b) => {
      const byGroup = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      return byGroup !== 0 ? byGroup : seconds(b) - seconds(a);
    });
  }
}
