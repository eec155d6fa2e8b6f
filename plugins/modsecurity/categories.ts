import type { RuleMatch } from '../../src/waf/index.js';

/**
 * The CRS's attack categories, from its rules' `attack-*` tags, as metric labels and in
 * evidence: a fixed set (a rule file of one's own with other tags counts as `other`).
 */
const CATEGORY_OF_TAG: Readonly<Record<string, string>> = {
  'attack-sqli': 'sqli',
  'attack-xss': 'xss',
  'attack-rce': 'rce',
  'attack-lfi': 'lfi',
  'attack-rfi': 'rfi',
  'attack-php': 'php',
  'attack-nodejs': 'nodejs',
  'attack-java': 'java',
  'attack-protocol': 'protocol',
  'attack-multipart-header': 'protocol',
  'attack-fixation': 'session-fixation',
  'attack-reputation-scanner': 'scanner',
  'attack-generic': 'generic',
  'attack-injection-generic': 'generic',
};

/** Every category a label may take. */
export const CATEGORIES: readonly string[] = [...new Set(Object.values(CATEGORY_OF_TAG)), 'other'];

/** The CRS's scoring and reporting rules (949 blocking evaluation, 959, 980 correlation): they decide, they detect nothing. */
function scores(id: number): boolean {
  const file = Math.floor(id / 1000);
  return file === 949 || file === 959 || file === 980;
}

/** The rule's category, or undefined for a rule that scores or decides (949110, 980130…) rather than detects. */
export function categoryOf(match: RuleMatch): string | undefined {
  if (scores(match.id)) return undefined;
  for (const tag of match.tags) {
    const category = CATEGORY_OF_TAG[tag.toLowerCase()];
    if (category) return category;
  }
  if (match.tags.some((tag) => /anomaly-evaluation|reporting/i.test(tag)) || match.id === 0) return undefined;
  return 'other';
}

/** The rules of a request's matches that detect something (not the scoring ones), and their categories. */
export function detectionsOf(matches: readonly RuleMatch[]): { rules: RuleMatch[]; categories: string[] } {
  const rules: RuleMatch[] = [];
  const categories = new Set<string>();
  for (const match of matches) {
    const category = categoryOf(match);
    if (category === undefined) continue;
    rules.push(match);
    categories.add(category);
  }
  return { rules, categories: [...categories] };
}
