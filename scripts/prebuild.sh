#!/usr/bin/env bash
# npm run prebuild: the prebuilt engine for linux-x64 (glibc), laid out as prebuildify does, so
# that node-gyp-build loads it and `npm pack` carries it:
#
#   prebuilds/linux-x64/vidgraph.napi.glibc.node   the addon (OpenCV linked in, symbols hidden)
#   prebuilds/linux-x64/lib*_vg.so.N               FFmpeg (LGPL), found through the addon's $ORIGIN rpath
#   prebuilds/linux-x64/BUILDINFO.txt              source versions, the FFmpeg configure line, glibc needed
#
# The libraries come from scripts/deps/build.sh (built from source once, cached by recipe).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[vidgraph prebuild]\033[0m %s\n' "$*" >&2; }

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || { say "prebuilt binaries are made on linux-x64 only (this is $(uname -s)-$(uname -m))"; exit 1; }
prefix="$(bash scripts/deps/build.sh | tail -1)"
[ -f "$prefix/BUILDINFO.txt" ] || { say "no dependency build at '$prefix'"; exit 1; }

say "building the addon against $prefix"
build=build-prebuild
if ! npx --no-install cmake-js compile --out "$build" --CDVIDGRAPH_DEPS="$prefix" >/tmp/vidgraph-prebuild.log 2>&1; then
  tail -40 /tmp/vidgraph-prebuild.log >&2; say "the addon build failed (log: /tmp/vidgraph-prebuild.log)"; exit 1
fi

out=prebuilds/linux-x64
rm -rf prebuilds.tmp && mkdir -p prebuilds.tmp/linux-x64
stage=prebuilds.tmp/linux-x64
cp "$build/Release/vidgraph.node" "$stage/vidgraph.napi.glibc.node"
# Each FFmpeg library under the name the loader asks for (its SONAME): no symlinks in a package.
for lib in "$prefix"/lib/lib*_vg.so.*.*.*; do
  soname="$(objdump -p "$lib" | awk '/SONAME/ {print $2}')"
  cp "$lib" "$stage/$soname"
done
for f in "$stage"/*; do
  strip --strip-unneeded "$f"
  patchelf --set-rpath '$ORIGIN' "$f"
done

# What the binary asks of the system: the newest glibc and libstdc++ symbol versions it uses.
newest() { objdump -T "$stage"/*.so.* "$stage"/*.node | grep -o "$1_[0-9.]*" | sort -uV | tail -1; }
glibc="$(newest GLIBC)" glibcxx="$(newest GLIBCXX)"
{
  cat "$prefix/BUILDINFO.txt"
  echo "addon: vidgraph $(node -p 'require("./package.json").version'), N-API 9, built $(date -u +%Y-%m-%d) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "needs: $glibc (glibc), $glibcxx (libstdc++)"
} >"$stage/BUILDINFO.txt"

rm -rf "$out" && mkdir -p prebuilds && mv "$stage" "$out" && rm -rf prebuilds.tmp
say "ready: $out ($(du -sh "$out" | cut -f1)): $(cd "$out" && ls | tr '\n' ' ')"
