#!/usr/bin/env bash
# Builds the mediasoup C++ worker without internet access (npm tarball + Debian
# packages; GitHub and wrapdb are unreachable here and in CI) and caches it outside
# the checkout. The README's "Why mediasoup is pinned" says why it is done this way.
# Made for the mediasoup 3.27 line: two of its dependencies are not packaged by Debian
# and come from scripts/mediasoup-compat/ (README.md there) instead.
#
# Usage: MEDIASOUP_WORKER_BIN=$(bash scripts/mediasoup-worker.sh | tail -1)
#        bash scripts/mediasoup-worker.sh --cached-only   (never builds; exit 1 if not cached)
# The last (and only) stdout line is the binary's absolute path; logs go to stderr.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APT_LOG_TAG=mediasoup-worker
# shellcheck source=lib/apt.sh
source "$REPO_ROOT/scripts/lib/apt.sh"
log() { apt_log "$@"; }
die() { apt_die "$@"; }

command -v node >/dev/null || die "node is not installed (needed to read package.json)"
command -v npm >/dev/null || die "npm is not installed (needed to fetch the mediasoup sources)"

VERSION=$(node -p 'require(process.argv[1]).dependencies?.mediasoup ?? ""' "$REPO_ROOT/package.json") ||
  die "could not read $REPO_ROOT/package.json"
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  die "dependencies.mediasoup in $REPO_ROOT/package.json must be an exact version, got '$VERSION'"

COMPAT=$REPO_ROOT/scripts/mediasoup-compat
# Our patches to this version (mediasoup-patches/README.md) and the compatibility layer
# built into the worker (mediasoup-compat/libsrtp3, mediasoup-compat/unordered-dense) are
# part of the cache key, so a changed patch or layer never reuses a binary built without it.
PATCHES=()
if [[ -d $REPO_ROOT/scripts/mediasoup-patches/$VERSION ]]; then
  mapfile -t PATCHES < <(find "$REPO_ROOT/scripts/mediasoup-patches/$VERSION" -name '*.patch' | sort)
fi
mapfile -t COMPAT_SOURCES < <(find "$COMPAT/libsrtp3" "$COMPAT/unordered-dense" -type f | sort)
((${#COMPAT_SOURCES[@]})) || die "the compatibility layer is missing from $COMPAT"
# Each file's path (relative, so a checkout's location does not count) and content.
BUILD_ID=$VERSION+compat.$(cd "$REPO_ROOT" && for file in "${PATCHES[@]}" "${COMPAT_SOURCES[@]}"; do
  echo "${file#"$REPO_ROOT"/}"
  cat "$file"
done | sha256sum | cut -c1-12)

CACHE_ROOT=${GATEWAY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sip-webrtc-gateway}
DEST_DIR=$(realpath -m "$CACHE_ROOT/mediasoup-worker/$BUILD_ID")
DEST=$DEST_DIR/mediasoup-worker

# Debian 12 (bookworm) package names. meson comes from bookworm-backports because
# mediasoup needs meson >= 1.1 and bookworm ships 1.0.1.
BUILD_PKGS=(
  build-essential patch pkg-config python3 python3-invoke ninja-build flatbuffers-compiler
  libssl-dev libuv1-dev libsrtp2-dev libabsl-dev libflatbuffers-dev
)
RUNTIME_PKGS=(libssl3 libuv1 libsrtp2-1 libabsl20220623)
MESON_MIN=1.1

libs_resolve() {
  local out
  out=$(ldd "$1" 2>&1) || return 1
  ! grep -q 'not found' <<<"$out"
}

# The worker cannot tell its version (mediasoup hands it one at spawn), so the version it
# was built for is recorded beside it; the gateway refuses a binary of another version at
# start-up (src/media/worker-binary.ts) instead of waiting for it forever.
VERSION_RECORD=$DEST_DIR/mediasoup-version
# The gateway finds the offline build without running this script (it needs neither the
# checkout nor build tools at run time): $CACHE_ROOT/mediasoup-worker/$VERSION links to the
# build this checkout made or reused last (src/media/worker-binary.ts reads it).
VERSION_LINK=$(dirname "$DEST_DIR")/$VERSION
# Prints the cached binary's path, first recording its version where a cache made before
# the record existed lacks it, and pointing the version link at it.
use_cached() {
  if [[ $(cat "$VERSION_RECORD" 2>/dev/null) != "$VERSION" ]]; then
    printf '%s\n' "$VERSION" >"$VERSION_RECORD.tmp" && mv -f "$VERSION_RECORD.tmp" "$VERSION_RECORD"
  fi
  if [[ $(readlink "$VERSION_LINK" 2>/dev/null) != "$BUILD_ID" ]]; then
    # A new link renamed over the old one, so a gateway starting meanwhile never misses it.
    ln -sfn "$BUILD_ID" "$VERSION_LINK.tmp.$$" && mv -Tf "$VERSION_LINK.tmp.$$" "$VERSION_LINK"
  fi
  echo "$DEST"
}

if [[ ${1:-} == --cached-only ]]; then
  [[ -x $DEST ]] && libs_resolve "$DEST" && use_cached && exit 0
  exit 1
fi

mkdir -p "$DEST_DIR" || die "cannot create cache directory $DEST_DIR"
# Serialise concurrent runs (parallel CI jobs) so they neither build twice nor fight
# over the apt lock; a waiting run then finds the finished binary.
exec 9>"$DEST_DIR/.lock"
flock 9 || die "cannot lock $DEST_DIR/.lock"

meson_ok() {
  is_installed meson &&
    dpkg --compare-versions "$(dpkg-query -W -f='${Version}' meson)" ge "$MESON_MIN"
}

# Reuse the cached binary; a machine that lacks only the shared libraries gets the
# runtime packages instead of a rebuild.
if [[ -x $DEST ]]; then
  if libs_resolve "$DEST"; then
    use_cached
    exit 0
  fi
  log "cached worker has unresolved shared libraries; installing runtime packages"
  ensure_packages "${RUNTIME_PKGS[@]}"
  if libs_resolve "$DEST"; then
    use_cached
    exit 0
  fi
  log "cached worker still has unresolved shared libraries; rebuilding"
fi

ensure_packages "${BUILD_PKGS[@]}"
meson_ok || apt_install meson/bookworm-backports
meson_ok || die "meson >= $MESON_MIN is still not installed"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mediasoup-worker-$VERSION.XXXXXX")
TMP_BIN=
trap 'rm -rf "$WORK"; [[ -z $TMP_BIN ]] || rm -f "$TMP_BIN"' EXIT
START=$SECONDS

log "fetching mediasoup@$VERSION from the npm registry"
# Run from the repo so its .npmrc (registry settings), if any, applies.
(cd "$REPO_ROOT" && npm pack --loglevel=warn --pack-destination "$WORK" "mediasoup@$VERSION" >&2) ||
  die "npm pack mediasoup@$VERSION failed"
tar -xzf "$WORK/mediasoup-$VERSION.tgz" -C "$WORK" || die "cannot extract mediasoup-$VERSION.tgz"
WORKER=$WORK/package/worker
for patch_file in "${PATCHES[@]}"; do
  log "applying $(basename "$patch_file")"
  patch -p1 --forward --batch --quiet -d "$WORK/package" <"$patch_file" >&2 || die "patch $patch_file does not apply"
done
# Fail before the long compile when this mediasoup calls libsrtp beyond what the
# layer provides (check-srtp-api.sh says which names).
bash "$COMPAT/check-srtp-api.sh" "$WORKER" || die "mediasoup $VERSION needs more of libsrtp 3 than scripts/mediasoup-compat/libsrtp3 provides"
UNORDERED_DENSE_INCLUDE=$(bash "$COMPAT/unordered-dense/fetch.sh" "$CACHE_ROOT") ||
  die "cannot get the unordered_dense header"

# Stand-in subprojects: meson uses subprojects/<directory named in the .wrap> when it
# exists (and never downloads with --wrap-mode=nodownload).
subproject_dir() { # <wrap name>
  local wrap=$WORKER/subprojects/$1.wrap dir
  [[ -f $wrap ]] || die "mediasoup $VERSION has no subprojects/$1.wrap; this script knows the 3.27 layout"
  dir=$(sed -n 's/^directory *= *//p' "$wrap")
  [[ -n $dir ]] || die "no 'directory' in $wrap"
  echo "$WORKER/subprojects/$dir"
}

# Those for Debian's libraries just expose them under the variable names mediasoup's
# meson.build reads. The *_lib / libuv variables mediasoup passes to link_whole are
# empty lists: the system libraries come in through the dependencies instead.
standin() { # <wrap name> <meson_options.txt content> <meson.build body>
  local dir
  dir=$(subproject_dir "$1")
  mkdir -p "$dir"
  printf '%s\n' "$2" >"$dir/meson_options.txt"
  printf "project('%s', ['c', 'cpp'])\n%s\n" "$1" "$3" >"$dir/meson.build"
}

standin openssl '' "
openssl_dep = dependency('openssl', version: '>= 3.0')
libcrypto_lib = []
libssl_lib = []"

standin libuv "
option('build_tests', type: 'boolean', value: false)
option('build_benchmarks', type: 'boolean', value: false)" "
libuv_dep = dependency('libuv')
libuv = []"

standin abseil-cpp '' "
absl_container_dep = declare_dependency(dependencies: [
  dependency('absl_flat_hash_map'), dependency('absl_flat_hash_set'),
  dependency('absl_btree'), dependency('absl_inlined_vector'), dependency('absl_memory')])
absl_strings_dep = dependency('absl_strings')
absl_types_dep = dependency('absl_optional')
absl_container_lib = []"

standin flatbuffers '' "
flatbuffers_dep = dependency('flatbuffers')
flatbuffers_lib = []"

# The two Debian lacks: libsrtp 3 (the layer over libsrtp 2) and unordered_dense.
LIBSRTP3_DIR=$(subproject_dir libsrtp3)
cp -R "$COMPAT/libsrtp3" "$LIBSRTP3_DIR"
UNORDERED_DENSE_DIR=$(subproject_dir unordered-dense)
mkdir -p "$UNORDERED_DENSE_DIR"
cp "$COMPAT/unordered-dense/meson.build" "$UNORDERED_DENSE_DIR/"
cp -R "$UNORDERED_DENSE_INCLUDE" "$UNORDERED_DENSE_DIR/include"

# tasks.py skips its pip install of meson/ninja when MESON exists, but always points
# meson at ninja inside its pip directory.
mkdir -p "$WORKER/out/pip_meson_ninja/bin"
ln -s "$(command -v ninja)" "$WORKER/out/pip_meson_ninja/bin/ninja"

# tasks.py compiles with -j <usable CPUs>, the same count nproc reports.
log "building mediasoup-worker $BUILD_ID on $(nproc) cores (takes a few minutes)"
(
  cd "$WORK/package"
  # A caller's MEDIASOUP_WORKER_BIN would make tasks.py skip the compile step, and
  # the out/build dir overrides would move the result.
  env -u MEDIASOUP_WORKER_BIN -u MEDIASOUP_OUT_DIR -u MEDIASOUP_INSTALL_DIR -u BUILD_DIR \
    MEDIASOUP_BUILDTYPE=Release MESON=/usr/bin/meson PYTHON=/usr/bin/python3 \
    MESON_ARGS=--wrap-mode=nodownload \
    /usr/bin/python3 -m invoke -r worker mediasoup-worker </dev/null >&2
) || die "building mediasoup-worker $BUILD_ID failed (see the output above)"

BUILT=$WORKER/out/Release/mediasoup-worker
[[ -x $BUILT ]] || die "the build finished but $BUILT is missing"
libs_resolve "$BUILT" || die "the built worker has unresolved shared libraries: $(ldd "$BUILT" 2>&1)"

# Copy next to the destination first so the final rename is atomic (same filesystem).
TMP_BIN=$(mktemp "$DEST_DIR/.mediasoup-worker.XXXXXX")
cp "$BUILT" "$TMP_BIN" && chmod 755 "$TMP_BIN" && mv -f "$TMP_BIN" "$DEST" ||
  die "cannot install the worker to $DEST"
TMP_BIN=
log "built in $((SECONDS - START))s: $DEST"
use_cached
