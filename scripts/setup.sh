#!/usr/bin/env bash
# Installs everything the gateway needs on a fresh Debian machine, offline-capable.
#   bash scripts/setup.sh          the gateway's own needs (npm packages, mediasoup worker)
#   bash scripts/setup.sh --test   also what the test suite needs (redis-server, chromium, baresip, the G.722 reference,
#                                  a C compiler and libsrtp2-dev for the libsrtp 3 layer's test, tshark to decode
#                                  the RTCP we write, sipvicious for the SIP attack test, kamailio for the SIP front test,
#                                  and the runtime libraries of ../shared/drachtio-server/drachtio
#                                  when it is there)
# Safe to run again: it installs only what is missing and reuses the cached worker.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/apt.sh

with_tests=false
for arg in "$@"; do
  case $arg in
    --test) with_tests=true ;;
    *) apt_log "ERROR: unknown option $arg (expected --test)"; exit 64 ;;
  esac
done

# Node.js >= 22 first on PATH for everything below (npm ci runs mediasoup's install
# script, which needs it); scripts/node.sh says where it comes from. This changes only
# this script's PATH, not the caller's shell: hence the hint at the end.
caller_node=$(command -v node || true)
node_bin=$(bash scripts/node.sh | tail -n 1)
export PATH="$node_bin:$PATH"

# The worker: the one given in MEDIASOUP_WORKER_BIN, else one built here earlier (cached
# outside the checkout), else mediasoup's own prebuilt download during npm ci, else, when
# that download is unreachable (offline hosts, CI), an offline build from the npm tarball.
worker=${MEDIASOUP_WORKER_BIN:-$(bash scripts/mediasoup-worker.sh --cached-only || true)}
if [[ -n $worker ]]; then
  apt_log "npm ci (mediasoup worker: $worker)"
  MEDIASOUP_WORKER_BIN=$worker npm ci --no-audit --no-fund >&2
elif npm ci --no-audit --no-fund >&2; then
  apt_log "npm ci done with mediasoup's prebuilt worker"
else
  apt_log "mediasoup's prebuilt worker could not be fetched; building it offline"
  worker=$(bash scripts/mediasoup-worker.sh | tail -n 1)
  MEDIASOUP_WORKER_BIN=$worker npm ci --no-audit --no-fund >&2
fi

if $with_tests; then
  # Real peers for the tests: Redis for the store, Chromium for the meeting page,
  # baresip (and sox for its audio files), linphone-cli and twinkle-console for SIP calls;
  # python3 and libspandsp2 run the reference G.722 the codec tests compare with; gcc and
  # libsrtp2-dev build the libsrtp 3 layer's own test (scripts/mediasoup-compat/test); tshark
  # (with text2pcap) is Wireshark's decoder for the RTCP test. Installed non-interactively, its
  # wireshark-common takes the debconf default for install-setuid (false: no setuid dumpcap).
  # sip-tester (SIPp) drives the session timer scenarios (test/sip/sipp/); sipvicious (svmap,
  # svwar, svcrack) is the attackers' own toolkit the SIP security test runs against the gateway.
  # kamailio (its dispatcher module is in the main package) is the SIP front the cluster test
  # runs config/kamailio/kamailio.cfg with.
  ensure_packages redis-server chromium baresip-core linphone-cli twinkle-console sox python3 libspandsp2 build-essential libsrtp2-dev tshark sip-tester sipvicious kamailio
  # The real drachtio-server, where ../shared holds it (CI runs the SIP tests against it
  # too): its runtime libraries, as its README lists them.
  if [[ -x ../shared/drachtio-server/drachtio ]]; then
    ensure_packages libboost-thread1.74.0 libboost-log1.74.0 libboost-filesystem1.74.0 libgoogle-perftools4 libcurl4
  fi
fi

apt_log "setup complete"
if [[ $caller_node != "$node_bin/node" ]]; then
  apt_log "the node on your PATH is not the Node.js >= 22 this uses; before npm start or npm test, run in your shell:"
  apt_log "  export PATH=\"$node_bin:\$PATH\""
fi
