#!/usr/bin/env bash
# The prebuilds the package ships (npm pack runs this as part of prepack):
#
#   scripts/prebuild-all.sh [ARCH ...]     default: $MPTCP_PREBUILD_ARCHS (e.g. "x64"), else x64 arm64
#
# Replaces prebuilds/ with linux-<arch>/mptcp.glibc.node for each ARCH, built
# with prebuildify --napi --tag-libc --strip (as npm run prebuild does), so
# nothing stale is packed. x64 is built with the host compiler; arm64 is
# cross-built with Debian's g++-aarch64-linux-gnu (CC/CXX/LINK/AR for
# node-gyp, --arch arm64, aarch64-linux-gnu-strip). Node-API headers come from
# npm_config_nodedir (offline; they are the same for every architecture).
#
# Each architecture builds in its own copy of binding.gyp + native/ under a
# temporary directory, so build/ (a developer's or the ASan build, which the
# loader prefers) is left alone and one architecture cannot overwrite the
# other. Each result must be an ELF shared object for its machine
# (x86-64, AArch64), else the script fails and prebuilds/ is left as it was.
set -euo pipefail
# Progress goes to stderr: the stdout of npm pack --json stays JSON.
exec >&2
cd "$(dirname "$0")/.."
root=$PWD

archs=("$@")
if [ ${#archs[@]} -eq 0 ]; then
  list=${MPTCP_PREBUILD_ARCHS:-x64 arm64}
  read -r -a archs <<<"${list//,/ }"
fi

# Node headers next to the running node, as .ci/run does: node-gyp builds offline.
if [ -z "${npm_config_nodedir:-}" ]; then
  nodedir=$(node -p "require('path').resolve(process.execPath, '../..')")
  if [ -f "$nodedir/include/node/node_api.h" ]; then export npm_config_nodedir="$nodedir"; fi
fi
if [ -z "${npm_config_nodedir:-}" ] || [ ! -f "$npm_config_nodedir/include/node/node_api.h" ]; then
  echo "prebuild-all: no Node headers (npm_config_nodedir=${npm_config_nodedir:-unset}); set npm_config_nodedir to a directory with include/node/node_api.h" >&2
  exit 1
fi
[ -x node_modules/.bin/prebuildify ] || { echo "prebuild-all: node_modules/.bin/prebuildify missing: run npm ci" >&2; exit 1; }

# Fail before building anything when a toolchain is missing.
for arch in "${archs[@]}"; do
  case $arch in
    x64)
      [ "$(uname -m)" = x86_64 ] || { echo "prebuild-all: x64 is built natively, this host is $(uname -m)" >&2; exit 1; }
      tools=(g++ strip) ;;
    arm64) tools=(aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ aarch64-linux-gnu-ar aarch64-linux-gnu-strip) ;;
    *) echo "prebuild-all: unknown architecture '$arch' (x64 or arm64)" >&2; exit 2 ;;
  esac
  for t in "${tools[@]}"; do
    command -v "$t" >/dev/null 2>&1 || {
      echo "prebuild-all: $t not found, needed for $arch (Debian: apt-get install $([ "$arch" = arm64 ] && echo g++-aarch64-linux-gnu || echo g++ make python3))" >&2
      exit 1
    }
  done
done

work=$(mktemp -d /tmp/mptcp-prebuild.XXXXXX)
trap 'rm -rf "$work"' EXIT

# elf_machine FILE: the ELF e_machine of FILE (62: x86-64, 183: AArch64), or
# nothing when FILE is not a little-endian 64-bit ELF shared object.
elf_machine() {
  node -e "
    const b = require('fs').readFileSync(process.argv[1]);
    const elf = b.length > 20 && b.readUInt32BE(0) === 0x7f454c46 && b[4] === 2 && b[5] === 1;
    if (elf && b.readUInt16LE(16) === 3) console.log(b.readUInt16LE(18));" "$1"
}

for arch in "${archs[@]}"; do
  src="$work/$arch"
  mkdir -p "$src"
  cp -r binding.gyp package.json native "$src/"
  # binding.gyp resolves node-addon-api from its own directory.
  ln -s "$root/node_modules" "$src/node_modules"
  args=(--napi --tag-libc --strip --arch "$arch" --cwd "$src")
  env=(JOBS=max)
  case $arch in
    x64) want=62 name=x86-64 ;;
    arm64)
      want=183 name=AArch64
      args+=(--strip-bin aarch64-linux-gnu-strip)
      env+=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar
        CC_host=gcc CXX_host=g++ LINK_host=g++ AR_host=ar) ;;
  esac
  echo "== prebuild-all: linux-$arch"
  start=$SECONDS
  env "${env[@]}" node_modules/.bin/prebuildify "${args[@]}"
  out="$src/prebuilds/linux-$arch/mptcp.glibc.node"
  [ -f "$out" ] || { echo "prebuild-all: prebuildify did not write $out" >&2; exit 1; }
  got=$(elf_machine "$out")
  [ "$got" = "$want" ] || { echo "prebuild-all: $out is not an $name shared object (ELF machine ${got:-none}, want $want)" >&2; exit 1; }
  mkdir -p "$work/out/linux-$arch"
  cp "$out" "$work/out/linux-$arch/"
  echo "prebuild-all: linux-$arch/mptcp.glibc.node: $name, $(stat -c %s "$out") bytes, $((SECONDS - start)) s"
done

# Only a complete set replaces prebuilds/.
rm -rf prebuilds
mv "$work/out" prebuilds
find prebuilds -type f | sort
