#!/usr/bin/env bash
# Prints the directory of a Node.js >= 22 binary (mediasoup 3.27 needs Node 22): the
# node on PATH when it is new enough, else Node $NODE_VERSION from the npm registry's
# node-linux-<arch> package (the official binary, the one the `node` package installs),
# unpacked once into the cache outside the checkout and reused after that. Debian 12
# packages only Node 18, and no other download site is reachable here or in CI.
#
# Usage, once per shell, before npm ci / npm start / npm test (setup.sh and .ci/run do it):
#   export PATH="$(bash scripts/node.sh):$PATH"
# npm itself then runs on that node too (npm's launcher is `#!/usr/bin/env node`).
# The last (and only) stdout line is the directory; logs go to stderr.
set -euo pipefail

NODE_MAJOR=22
# The newest Node 22 (LTS) release when this was written; raise it for security releases.
NODE_VERSION=22.23.3

log() { printf '[node] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if command -v node >/dev/null && (($(major_of node) >= NODE_MAJOR)); then
  dirname "$(command -v node)"
  exit 0
fi

case $(uname -m) in
  x86_64) ARCH=x64 ;;
  aarch64) ARCH=arm64 ;;
  *) die "no Node.js $NODE_MAJOR package for $(uname -m) on the npm registry; install Node.js >= $NODE_MAJOR" ;;
esac

CACHE_ROOT=${GATEWAY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sip-webrtc-gateway}
DEST=$(realpath -m "$CACHE_ROOT/node/$NODE_VERSION-linux-$ARCH")
if [[ -x $DEST/bin/node ]] && (($(major_of "$DEST/bin/node") >= NODE_MAJOR)); then
  echo "$DEST/bin"
  exit 0
fi

command -v npm >/dev/null ||
  die "Node.js >= $NODE_MAJOR is not on PATH and npm (any version) is missing to fetch it"
log "fetching Node.js $NODE_VERSION (node-linux-$ARCH) from the npm registry into $DEST"
mkdir -p "$(dirname "$DEST")"
WORK=$(mktemp -d "$(dirname "$DEST")/.node-$NODE_VERSION.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# npm pack checks the tarball against the registry's integrity hash.
(cd "$WORK" && npm pack --loglevel=error "node-linux-$ARCH@$NODE_VERSION" >/dev/null) ||
  die "npm pack node-linux-$ARCH@$NODE_VERSION failed"
tar -xzf "$WORK/node-linux-$ARCH-$NODE_VERSION.tgz" -C "$WORK" ||
  die "cannot extract node-linux-$ARCH-$NODE_VERSION.tgz"
[[ $(major_of "$WORK/package/bin/node") -ge $NODE_MAJOR ]] ||
  die "the node in node-linux-$ARCH@$NODE_VERSION does not run here"
# One rename, so a concurrent or interrupted run never leaves half a Node behind; when
# another run got there first, its copy is as good.
mv -T "$WORK/package" "$DEST" 2>/dev/null || [[ -x $DEST/bin/node ]] ||
  die "cannot install Node.js into $DEST"
echo "$DEST/bin"
