#!/usr/bin/env bash
# The addon under AddressSanitizer + UndefinedBehaviorSanitizer (GCC's runtimes).
#
#   scripts/asan.sh build    rebuild build/Release/mptcp.node sanitized (npm run build:asan)
#   scripts/asan.sh test     run the whole vitest suite against it     (npm run test:asan)
#
# The sanitized build replaces the normal one in build/Release, where the
# loader (node-gyp-build) looks first, so the library and every Node child the
# tests start load it. It needs the sanitizer runtimes preloaded into node
# (node itself is not instrumented): without them it does not load, and the
# library falls back to plain net. `npm run build:gyp` restores the normal build.
#
# `test` checks first that it can fail: the addon in build/Release must be the
# sanitized one and load in node with libasan mapped, and a throwaway shared
# object with a heap overflow, then with a signed overflow, built with the same
# flags and loaded under the same options, must make node fail with the
# sanitizer's report. Then the suite. ASan reports go to files (log_path) as
# well as being fatal, so one from a child whose stderr a test discards still
# fails the run; they are printed at the end. UBSan reports stay on the failing
# process's stderr (with GCC's two runtimes, libubsan's log_path setup binds to
# libasan's exported setter: UBSAN_OPTIONS=log_path would move ASan's reports,
# not its own); a UBSan error still ends the process with exit 1.
# Extra arguments are passed to vitest (e.g. a test file).
set -euo pipefail
cd "$(dirname "$0")/.."

SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g"
ADDON=build/Release/mptcp.node

# Node headers next to the running node, as .ci/run does: node-gyp builds offline.
if [ -z "${npm_config_nodedir:-}" ]; then
  nodedir=$(node -p "require('path').resolve(process.execPath, '../..')")
  if [ -f "$nodedir/include/node/node_api.h" ]; then export npm_config_nodedir="$nodedir"; fi
fi

runtime() { # absolute path of GCC's shared sanitizer runtime, e.g. libasan.so
  local p
  p=$(gcc -print-file-name="$1")
  if [ "$p" = "$1" ] || [ ! -e "$p" ]; then
    echo "asan: $1 not found (Debian's g++ brings it: libasan8, libubsan1)" >&2
    exit 1
  fi
  readlink -f "$p"
}

is_sanitized() { # the addon references both runtimes
  local syms
  syms=$(nm -D --undefined-only "$ADDON" 2>/dev/null) || return 1
  grep -q '__asan_init' <<<"$syms" && grep -q '__ubsan_handle_' <<<"$syms"
}

build() {
  echo "asan: node-gyp rebuild with $SAN_FLAGS"
  CFLAGS="$SAN_FLAGS" CXXFLAGS="$SAN_FLAGS" LDFLAGS="$SAN_FLAGS" node_modules/.bin/node-gyp rebuild
  is_sanitized || { echo "asan: $ADDON does not reference the sanitizer runtimes" >&2; exit 1; }
  echo "asan: $ADDON is sanitized (npm run build:gyp restores the normal build)"
}

# Runs node with the sanitizer environment and a heap overflow (asan) or a
# signed overflow (ubsan) in a shared object's constructor: node must fail with
# the report, an ASan one in the log_path file the suite relies on.
# $1: asan|ubsan, $2: expected text, $3: where it must appear (report|stderr).
expect_report() {
  local kind=$1 want=$2 where=$3 dir="$work/self-$1" rc=0
  mkdir "$dir"
  # The subshell keeps bash's "Aborted" notice out of the log.
  (ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$dir/report" SELFTEST="$kind" \
    node -e "process.dlopen({ exports: {} }, process.argv[1])" "$work/selftest.so"; exit $?) \
    >"$dir/stderr" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ] || ! cat "$dir/$where"* 2>/dev/null | grep -q "$want"; then
    echo "asan: self-check failed: the $kind error did not fail node with '$want' in its $where (exit $rc)" >&2
    cat "$dir"/* >&2 2>/dev/null || true
    exit 1
  fi
  echo "asan: self-check: the $kind error fails node (exit $rc, '$want')"
}

test_() {
  local libasan libubsan
  libasan=$(runtime libasan.so)
  libubsan=$(runtime libubsan.so)
  is_sanitized || { echo "asan: $ADDON is not the sanitized build: run npm run build:asan first" >&2; exit 1; }
  npm run -s build:ts

  work=$(mktemp -d /tmp/mptcp-asan.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  # Children that drop privileges (nsenter -S 65534) must be able to write reports too.
  chmod 755 "$work" && mkdir -m 1777 "$work/reports"
  export LD_PRELOAD="$libasan:$libubsan${LD_PRELOAD:+:$LD_PRELOAD}"
  # Leak detection off: node itself is not built for it and never frees everything.
  export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

  # 1. node loads the sanitized addon through the library, with libasan mapped.
  node -e "
    const fs = require('fs');
    const b = require('./dist/binding.js');
    if (!b.getBinding()) throw new Error('the addon did not load: ' + b.getBindingError());
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    const addon = fs.realpathSync(process.argv[1]);
    for (const lib of [process.argv[2], process.argv[3], addon])
      if (!maps.includes(lib)) throw new Error(lib + ' is not mapped in node');
    console.log('asan: node loads ' + addon + ' with ' + process.argv[2]);
  " "$ADDON" "$libasan" "$libubsan"

  # 2. a sanitizer report under these options makes node fail.
  cat >"$work/selftest.cc" <<'EOF'
#include <climits>
#include <cstdlib>
#include <cstring>
static volatile int sink;
__attribute__((constructor)) static void selftest() {
  const char *kind = std::getenv("SELFTEST");
  if (kind && std::strcmp(kind, "asan") == 0) {
    char *volatile p = new char[8]; // opaque to UBSan's object-size check
    sink = p[8];                    // heap-buffer-overflow
    delete[] p;
  } else if (kind && std::strcmp(kind, "ubsan") == 0) {
    volatile int big = INT_MAX;
    sink = big + 1; // signed integer overflow
  }
}
EOF
  # shellcheck disable=SC2086
  g++ -shared -fPIC -O1 $SAN_FLAGS -o "$work/selftest.so" "$work/selftest.cc"
  expect_report asan 'AddressSanitizer: heap-buffer-overflow' report
  expect_report ubsan 'runtime error: signed integer overflow' stderr

  # 3. the suite, every ASan report written under $work/reports.
  export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$work/reports/asan"
  local rc=0
  node node_modules/vitest/vitest.mjs run "$@" || rc=$?

  local reports
  reports=$(find "$work/reports" -type f | sort)
  if [ -n "$reports" ]; then
    echo "asan: sanitizer reports:" >&2
    for f in $reports; do echo "--- $(basename "$f")" >&2; cat "$f" >&2; done
    echo "asan: $(wc -l <<<"$reports") sanitizer report(s): the run fails" >&2
    [ "$rc" -ne 0 ] || rc=1
  else
    echo "asan: no sanitizer reports"
  fi
  return "$rc"
}

case "${1:-}" in
  build) build ;;
  test) shift; test_ "$@" ;;
  *) echo "usage: $0 build | test [vitest args...]" >&2; exit 2 ;;
esac
