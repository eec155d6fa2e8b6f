#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, builds, runs every test.
# This is the command the README and .ci/run name: `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# The ban review page is tested in a real headless browser.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# /metrics is linted with promtool, which Debian ships in the prometheus package.
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
# The compose files are checked by Debian's docker-compose, which parses without an engine.
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
# The WAF runs the OWASP Core Rule Set as Debian packages it (and its own regression tests).
[ -d /usr/share/modsecurity-crs/rules ] || need_apt+=(modsecurity-crs)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test: installing ${need_apt[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "test: missing ${need_apt[*]}; install them (Debian: apt-get install ${need_apt[*]}) or run as root" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# The build and the tests' type check (vitest itself only strips types), side by side: one
# core each.
npm run -s build &
build=$!
npm run -s typecheck &
typecheck=$!
wait "$build"
wait "$typecheck"
# PALISADE_TEST_REPORT keeps vitest's JSON report there (npm run test:soak reads it).
if [ -n "${PALISADE_TEST_REPORT:-}" ]; then
  report="$PALISADE_TEST_REPORT"
else
  report="$(mktemp)"
  trap 'rm -f "$report"' EXIT
fi
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
# One plain closing line that any CI can read.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$report" || true
exit "$status"
