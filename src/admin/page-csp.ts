import { createHash } from 'node:crypto';

/**
 * The Content-Security-Policy of an admin page: nothing may load or run (`default-src
 * 'none'`) but the page's own `<style>` elements, each allowed by its hash; forms post back
 * to this listener only, and no page may frame it. The pages escape every attacker-supplied
 * text; this is what holds if an escape were ever missed.
 */
export function pageCsp(html: string): string {
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  return [
    `default-src 'none'`,
    ...(styles.length > 0 ? [`style-src ${[...new Set(styles)].join(' ')}`] : []),
    `form-action 'self'`,
    `frame-ancestors 'none'`,
    `base-uri 'none'`,
  ].join('; ');
}
