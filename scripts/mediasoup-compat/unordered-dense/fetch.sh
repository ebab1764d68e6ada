#!/usr/bin/env bash
# Prints a directory holding ankerl/unordered_dense.h, the MIT-licensed header-only hash
# map mediasoup 3.27 uses (its meson wrap would download it from GitHub, unreachable
# here). No Debian release packages unordered_dense itself, but Debian 13 (trixie)
# ships the real header inside the rspamd source package (contrib/ankerl, 4.4.0 with its
# LICENSE); mediasoup's wrap names 4.8.1 and the worker uses only map, set and hash, all
# in 4.x. The source package comes through apt-get source, so its checksums are verified
# against the archive's signed index, using this machine's own Debian mirror and a
# private apt state (the machine's apt sources and lists are left as they are). The
# header is fetched once and cached.
#
# Usage: bash fetch.sh CACHE_DIR    (stdout: the include directory; logs go to stderr)
set -euo pipefail

CACHE_DIR=${1:?usage: fetch.sh CACHE_DIR}
DEST=$CACHE_DIR/unordered-dense
HEADER=ankerl/unordered_dense.h
SOURCE_PACKAGE=rspamd
SUITE=trixie

APT_LOG_TAG=unordered-dense
# shellcheck source=../../lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../lib/apt.sh"
log() { apt_log "$@"; }
die() { apt_die "$@"; }

if [[ -f $DEST/include/$HEADER ]]; then
  echo "$DEST/include"
  exit 0
fi

# The mirror apt already uses for bookworm main, e.g. http://<mirror>/debian; apt knows
# it only once its lists are there (a fresh image may have none yet).
bookworm_mirror() { apt-cache policy | awk '$3 == "bookworm/main" { print $2; exit }'; }
MIRROR=$(bookworm_mirror)
if [[ -z $MIRROR ]]; then
  apt_update
  MIRROR=$(bookworm_mirror)
fi
[[ -n $MIRROR ]] || die "no Debian bookworm/main source in apt's configuration"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/unordered-dense.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial" "$WORK/parts" "$WORK/src"
echo "deb-src $MIRROR $SUITE main" >"$WORK/sources.list"
# A private apt state: the index of $SUITE's sources, and nothing of the machine's.
APT=(apt-get -q -o "Dir::Etc::SourceList=$WORK/sources.list" -o "Dir::Etc::SourceParts=$WORK/parts"
  -o "Dir::State::Lists=$WORK/lists" -o "Dir::Cache=$WORK/cache")
# Running as root, apt would hand the download to its _apt user, who cannot write here.
[[ $(id -u) -ne 0 ]] || APT+=(-o APT::Sandbox::User=root)

log "fetching $SOURCE_PACKAGE's source from Debian $SUITE for its copy of unordered_dense"
"${APT[@]}" update >&2 || die "apt-get update of $SUITE's source index failed"
(cd "$WORK/src" && "${APT[@]}" source --download-only "$SOURCE_PACKAGE" >&2) ||
  die "apt-get source $SOURCE_PACKAGE ($SUITE) failed"
ORIG=$(find "$WORK/src" -name "${SOURCE_PACKAGE}_*.orig.tar.*" | head -n 1)
[[ -n $ORIG ]] || die "no upstream tarball among the downloaded $SOURCE_PACKAGE source files"
tar -xf "$ORIG" -C "$WORK/src" --wildcards "*/contrib/$HEADER" '*/contrib/ankerl/LICENSE' ||
  die "$(basename "$ORIG") has no contrib/$HEADER"

FOUND=$(find "$WORK/src" -path "*/contrib/$HEADER" | head -n 1)
grep -q '^#define ANKERL_UNORDERED_DENSE_VERSION_MAJOR 4 ' "$FOUND" ||
  die "$(basename "$ORIG") carries an unordered_dense other than 4.x"
mkdir -p "$WORK/include/ankerl"
cp "$FOUND" "$(dirname "$FOUND")/LICENSE" "$WORK/include/ankerl/"
mkdir -p "$DEST"
# Move into place in one step so a concurrent or interrupted run never sees half a copy.
mv -T "$WORK/include" "$DEST/include" 2>/dev/null || [[ -f $DEST/include/$HEADER ]] ||
  die "cannot install the header into $DEST"
log "$(sed -n 's|^// Version |version |p' "$DEST/include/$HEADER" | head -n 1) from $(basename "$ORIG")"
echo "$DEST/include"
