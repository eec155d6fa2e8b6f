#!/usr/bin/env bash
# The Dockerfile's steps without Docker: builds a runnable release folder from a clean copy
# of the repository. Usage: docker/build-release.sh OUT_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: docker/build-release.sh OUT_DIR}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Stage 1 (build): the same files the Dockerfile copies, then npm ci (builds) and prune.
cp "$root"/package.json "$root"/package-lock.json "$root"/tsconfig.json "$work"/
cp -r "$root"/bin "$root"/src "$root"/plugins "$root"/scripts "$root"/bench "$work"/
(cd "$work" && npm ci --no-audit --no-fund --loglevel=error && npm prune --omit=dev --no-audit --no-fund --loglevel=error)

# Stage 2 (runtime): only what the image keeps.
mkdir -p "$out"
cp -r "$work"/package.json "$work"/node_modules "$work"/dist "$work"/bin "$work"/src "$work"/plugins "$out"/
echo "release in $out: run with (cd $out && NODE_ENV=production node bin/palisade start)"
