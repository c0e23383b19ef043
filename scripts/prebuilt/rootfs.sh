#!/usr/bin/env bash
# A bare Debian bookworm root (debootstrap --variant=minbase: no compiler, no python, no FFmpeg,
# no OpenCV) for testing `npm install vidgraph` the way a user on a fresh machine runs it.
#
#   bash scripts/prebuilt/rootfs.sh             # prints the cached pristine tarball (builds it once)
#   bash scripts/prebuilt/rootfs.sh DIR         # extracts a pristine copy into DIR (must be empty
#                                               # or absent), copies this machine's node + npm into
#                                               # it, checks gcc/python3/ffmpeg are absent, prints DIR
#
# Cache: ${VIDGRAPH_CACHE:-${XDG_CACHE_HOME:-~/.cache}/vidgraph}/rootfs-<hash>.tar.gz, where <hash>
# is the SHA-256 of this file (the recipe: suite, variant, mirror, steps). The cached tarball is
# never modified; every caller works on its own extracted copy. Needs root and debootstrap
# (installed with apt-get when missing).
set -euo pipefail

SUITE=bookworm
VARIANT=minbase
MIRROR="${VIDGRAPH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

self="$(readlink -f "$0")"
key="$(sha256sum "$self" | cut -c1-16)"
cache="${VIDGRAPH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vidgraph}"
tarball="$cache/rootfs-$key.tar.gz"
say() { printf '[vidgraph rootfs] %s\n' "$*" >&2; }

[ "$(uname -s)" = Linux ] || { say "needs Linux"; exit 1; }
[ "$(id -u)" = 0 ] || { say "needs root (debootstrap, chroot)"; exit 1; }

build_tarball() {
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  mkdir -p "$cache"
  local work
  work="$(mktemp -d "$cache/rootfs-$key.work.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  say "debootstrap --variant=$VARIANT $SUITE from $MIRROR (once per recipe)"
  debootstrap --variant="$VARIANT" "$SUITE" "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    say "debootstrap failed (full log above, last 30 lines)"
    exit 1
  }
  # Downloaded .debs are not part of the system under test.
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
  tar -C "$work/root" --numeric-owner -czf "$work/root.tar.gz" .
  mv "$work/root.tar.gz" "$tarball"   # atomic: a tarball under the final name is always complete
  rm -rf "$work"
  trap - EXIT
}

[ -f "$tarball" ] || build_tarball

if [ $# -eq 0 ]; then
  echo "$tarball"
  exit 0
fi

dest="$1"
mkdir -p "$dest"
[ -z "$(ls -A "$dest")" ] || { say "$dest is not empty"; exit 1; }
tar -C "$dest" --numeric-owner -xzf "$tarball"

# This machine's node and npm, nothing else.
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."
npm_dir="$(readlink -f "$npm_dir")"
[ "$(basename "$npm_dir")" = npm ] && [ -f "$npm_dir/package.json" ] || { say "cannot find npm's package dir ($npm_dir)"; exit 1; }
install -m 0755 "$node_bin" "$dest/usr/local/bin/node"
mkdir -p "$dest/usr/local/lib/node_modules"
cp -a "$npm_dir" "$dest/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dest/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dest/usr/local/bin/npx"

# Inside the root: node must find every library it links in minbase; the tools a source build
# would need must be absent. (No /proc needed for these.)
chroot "$dest" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin /bin/sh -ec '
  if ldd /usr/local/bin/node | grep -q "not found"; then ldd /usr/local/bin/node >&2; echo "node: libraries missing in the root" >&2; exit 1; fi
  for tool in gcc cc g++ c++ make python3 python ffmpeg pkg-config; do
    if command -v "$tool" >/dev/null 2>&1; then echo "the bare root unexpectedly has $tool" >&2; exit 1; fi
  done
  node --version >/dev/null
' || { say "root check failed in $dest"; exit 1; }
echo "$dest"
