import { escapeHtml } from '../../src/plugin/index.js';

/**
 * The JavaScript challenge: plain HTML and a few lines of script (no framework) that find a
 * number whose SHA-256 with the nonce starts with `bits` zero bits, then post it back.
 */
export function challengePage(action: string, nonce: string, bits: number): string {
  const a = escapeHtml(action);
  const n = escapeHtml(nonce);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>Checking your browser</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body>
<h1>Checking your browser</h1>
<p id="status">This takes a second.</p>
<noscript><p>Please turn on JavaScript to continue.</p></noscript>
<form id="answer" method="post" action="${a}" data-nonce="${n}" data-bits="${bits}">
<input type="hidden" name="nonce" value="${n}"><input type="hidden" name="solution" value="">
</form>
<script>
(async () => {
  const form = document.getElementById('answer');
  const nonce = form.dataset.nonce, bits = Number(form.dataset.bits), encoder = new TextEncoder();
  const zeroBits = (bytes) => { let n = 0; for (const b of bytes) { if (b === 0) { n += 8; continue; } n += Math.clz32(b) - 24; break; } return n; };
  for (let i = 0; ; i++) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(nonce + i)));
    if (zeroBits(digest) >= bits) { form.elements.solution.value = String(i); form.submit(); return; }
  }
})();
</script>
</body></html>
`;
}
