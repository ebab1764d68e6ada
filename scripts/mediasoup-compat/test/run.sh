#!/usr/bin/env bash
# Builds the libsrtp 3 layer with its unit test under AddressSanitizer and
# UndefinedBehaviorSanitizer (any report fails the run) against Debian's libsrtp 2, and
# runs it. Needs gcc and libsrtp2-dev (scripts/setup.sh --test installs them).
# Prints the test's output; exit status 0 only when every check passed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAYER=$HERE/../libsrtp3
BUILD=$(mktemp -d "${TMPDIR:-/tmp}/libsrtp3-layer-test.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT

# -Werror: the layer is small enough to keep warning-free, and a warning here (a
# conversion, a missed enum case) is as likely as anything to be a real bug.
gcc -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wconversion -Werror \
  -fsanitize=address,undefined -fno-sanitize-recover=all \
  -I "$LAYER/include" -I "$LAYER" -I "$HERE" \
  "$LAYER/srtp3.c" "$LAYER/srtp2-bridge.c" "$HERE/libsrtp3-layer-test.c" \
  -lsrtp2 -o "$BUILD/libsrtp3-layer-test"

ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  "$BUILD/libsrtp3-layer-test"
