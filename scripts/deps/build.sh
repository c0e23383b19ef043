#!/usr/bin/env bash
# Builds the libraries bundled in vidgraph's prebuilt binary from Debian's source packages
# (scripts/deps/recipe.sh): zlib, libpng, libjpeg-turbo, dav1d and OpenH264 static and
# position-independent; FFmpeg as LGPL shared libraries that link them in; OpenCV's core,
# imgproc, video and imgcodecs static. Prints the install prefix on its last line.
#
#   bash scripts/deps/build.sh            # build, or reuse the cached build of this recipe
#   VIDGRAPH_CACHE=/path bash ...         # cache root (default: ${XDG_CACHE_HOME:-~/.cache}/vidgraph)
#
# The cache lives outside the repository, keyed by the SHA-256 of recipe.sh and this file.
# A build that fails or is interrupted never leaves a prefix that looks complete.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=recipe.sh
source "$here/recipe.sh"

key="$(cat "$here/recipe.sh" "$here/build.sh" | sha256sum | cut -c1-16)"
cache="${VIDGRAPH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vidgraph}"
out="$cache/deps-$key"
prefix="$out/prefix"
say() { printf '\033[1m[vidgraph deps]\033[0m %s\n' "$*" >&2; }

if [ -f "$out/complete" ]; then
  say "cached: $prefix"
  echo "$prefix"
  exit 0
fi

jobs="$(nproc)"
started=$SECONDS

# --- tools ---------------------------------------------------------------------------
missing=()
for pkg in "${DEPS_TOOLS[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || { say "needs Debian's apt-get to install: ${missing[*]}"; exit 1; }
  [ "$(id -u)" = 0 ] || { say "needs root to install: ${missing[*]}"; exit 1; }
  say "installing build tools: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- sources: Debian source packages through a private deb-src list --------------------
work="$out.work"
rm -rf "$work" "$out"
mkdir -p "$work/apt/lists/partial" "$work/apt/parts" "$work/src" "$prefix"
cat >"$work/apt/parts/vidgraph-deb-src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/apt/parts" -o "Dir::State::Lists=$work/apt/lists"
  -o APT::Sandbox::User=root)
say "fetching sources: ${DEPS_SOURCES[*]}"
apt-get "${apt_opts[@]}" update -qq
(cd "$work/src" && apt-get "${apt_opts[@]}" source -qq "${DEPS_SOURCES[@]}" >"$work/source.log" 2>&1) ||
  { cat "$work/source.log" >&2; say "apt-get source failed"; exit 1; }
srcdir() { find "$work/src" -maxdepth 1 -mindepth 1 -type d -name "$1-*" | head -1; }

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export CFLAGS="-O2 -fPIC" CXXFLAGS="-O2 -fPIC"
log() { echo "$work/$1.log"; }
step() { # step NAME COMMAND...: runs quietly, shows the log's tail on failure
  local name="$1"; shift
  say "building $name"
  if ! "$@" >"$(log "$name")" 2>&1; then tail -40 "$(log "$name")" >&2; say "$name failed (log: $(log "$name"))"; exit 1; fi
}

build_zlib() {
  cd "$(srcdir zlib)" && ./configure --static --prefix="$prefix" && make -j"$jobs" && make install
}
build_libpng() {
  cd "$(srcdir libpng1.6)" && ./configure --prefix="$prefix" --disable-shared --enable-static --with-pic \
    CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib" && make -j"$jobs" && make install
}
build_libjpeg() {
  # An absolute CMAKE_INSTALL_LIBDIR: libjpeg-turbo resolves a relative one against its source tree.
  cd "$(srcdir libjpeg-turbo)" && cmake -S . -B _build -G Ninja -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR="$prefix/lib" \
    -DCMAKE_BUILD_TYPE=Release -DENABLE_SHARED=OFF -DENABLE_STATIC=ON -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DWITH_TURBOJPEG=OFF -DWITH_JPEG8=OFF && cmake --build _build -j"$jobs" && cmake --install _build
}
build_dav1d() {
  cd "$(srcdir dav1d)" && meson setup _build --prefix="$prefix" --libdir=lib --buildtype=release \
    -Ddefault_library=static -Db_staticpic=true -Denable_tools=false -Denable_tests=false &&
    ninja -C _build -j"$jobs" && ninja -C _build install
}
build_openh264() {
  cd "$(srcdir openh264)" && meson setup _build --prefix="$prefix" --libdir=lib --buildtype=release \
    -Ddefault_library=static -Db_staticpic=true -Dtests=disabled &&
    ninja -C _build -j"$jobs" && ninja -C _build install &&
    # OpenH264 is C++: a static link needs the C++ runtime, which its pkg-config file omits.
    sed -i 's/^Libs: .*/& -lstdc++/' "$prefix/lib/pkgconfig/openh264.pc"
}
build_ffmpeg() {
  cd "$(srcdir ffmpeg)" && ./configure --prefix="$prefix" "${FFMPEG_CONFIGURE[@]}" \
    --pkg-config-flags=--static --extra-cflags="-I$prefix/include" --extra-ldflags="-L$prefix/lib" &&
    make -j"$jobs" && make install
}
build_opencv() {
  cd "$(srcdir opencv)" && cmake -S . -B _build -G Ninja -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_PREFIX_PATH="$prefix" -DZLIB_ROOT="$prefix" -DPNG_PNG_INCLUDE_DIR="$prefix/include" \
    -DPNG_LIBRARY_RELEASE="$prefix/lib/libpng16.a" -DJPEG_INCLUDE_DIR="$prefix/include" -DJPEG_LIBRARY_RELEASE="$prefix/lib/libjpeg.a" \
    -DZLIB_LIBRARY_RELEASE="$prefix/lib/libz.a" -DZLIB_INCLUDE_DIR="$prefix/include" \
    "${OPENCV_CMAKE[@]}" && cmake --build _build -j"$jobs" && cmake --install _build
}

step zlib build_zlib
step libpng build_libpng
step libjpeg-turbo build_libjpeg
step dav1d build_dav1d
step openh264 build_openh264
step ffmpeg build_ffmpeg
step opencv build_opencv

# Each FFmpeg library finds its siblings next to itself.
for lib in "$prefix"/lib/lib*_vg.so.*.*.*; do patchelf --set-rpath '$ORIGIN' "$lib"; done
# The record that goes into the package: versions and the exact FFmpeg configure line.
{
  echo "sources (Debian bookworm source packages): ${DEPS_SOURCES[*]}"
  echo "ffmpeg configure: $(sed -n 's/^#define FFMPEG_CONFIGURATION "\(.*\)"$/\1/p' "$(srcdir ffmpeg)/config.h")"
  echo "ffmpeg license: $(sed -n 's/^#define FFMPEG_LICENSE "\(.*\)"/\1/p' "$(srcdir ffmpeg)/config.h")"
} >"$prefix/BUILDINFO.txt"
rm -rf "$work"
touch "$out/complete"
say "built in $((SECONDS - started)) s: $prefix"
echo "$prefix"
