#!/usr/bin/env bash
# Fails when the mediasoup worker's sources use a libsrtp name (srtp_*, SRTP_*) that the
# libsrtp 3 layer (libsrtp3/include/srtp.h) does not declare, so a mediasoup upgrade that
# calls more of libsrtp 3 stops the build with the names to add, instead of compiler
# errors minutes later or, for a macro tested with #ifdef, silently other code. It also
# pins the one semantic difference the layer cannot check by type: srtp_stream_remove
# takes the SSRC in network byte order (README.md), as mediasoup 3.27.1 passes it.
#
# Usage: bash check-srtp-api.sh WORKER_DIR    (the worker/ folder of the mediasoup package)
set -euo pipefail

WORKER=${1:?usage: check-srtp-api.sh WORKER_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAYER_HEADER=$HERE/libsrtp3/include/srtp.h

die() { printf '[check-srtp-api] ERROR: %s\n' "$*" >&2; exit 1; }

# Code without comments and string literals: names in a log message or a comment are
# not uses. gcc's preprocessor strips comments without expanding anything.
code() { # <language: c|c++> <file>...
  local lang=$1 file
  shift
  for file in "$@"; do
    gcc -fpreprocessed -dD -E -P -x "$lang" "$file" 2>/dev/null ||
      die "cannot read $file"
  done | sed -E 's/"([^"\\]|\\.)*"//g'
}
names() { grep -ohE '\b(srtp|SRTP)_[A-Za-z0-9_]+' | sort -u; }

mapfile -t SOURCES < <(find "$WORKER/src" "$WORKER/include" "$WORKER/deps" -type f \
  \( -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' \) | sort)
((${#SOURCES[@]})) || die "no C/C++ sources under $WORKER/{src,include,deps}"
WORKER_CODE=$(code c++ "${SOURCES[@]}")

# OpenSSL's DTLS-SRTP names (SRTP_AES128_CM_SHA1_80, SRTP_PROTECTION_PROFILE, ...) share
# the prefix; they come from OpenSSL's headers, not from the layer.
OPENSSL_NAMES=$(cat /usr/include/openssl/srtp.h /usr/include/openssl/ssl.h | names)
DECLARED=$(code c "$LAYER_HEADER" | names)
USED=$(names <<<"$WORKER_CODE")
MISSING=$(comm -23 <(echo "$USED") <(sort -u <(echo "$DECLARED") <(echo "$OPENSSL_NAMES")))
if [[ -n $MISSING ]]; then
  die "the mediasoup worker uses libsrtp names that scripts/mediasoup-compat/libsrtp3 does not
provide: $(echo $MISSING)
Add them to libsrtp3/include/srtp.h and srtp3.c (on libsrtp 2, or refused with an error
status), with a case in test/libsrtp3-layer-test.c, or pick a mediasoup version that does
not need them."
fi

REMOVE_CALLS=$(grep -oE '\bsrtp_stream_remove\s*\([^;]*' <<<"$WORKER_CODE" || true)
if [[ -n $REMOVE_CALLS ]] && grep -qv 'htonl' <<<"$REMOVE_CALLS"; then
  die "the mediasoup worker calls srtp_stream_remove without htonl(): $REMOVE_CALLS
The layer passes the SSRC to libsrtp 2 in network byte order (README.md); find out which
order this mediasoup version means and adapt srtp3.c's srtp_stream_remove and its test."
fi

printf '[check-srtp-api] the worker uses %s libsrtp names, all provided by the layer\n' \
  "$(comm -23 <(echo "$USED") <(echo "$OPENSSL_NAMES") | wc -l)" >&2
