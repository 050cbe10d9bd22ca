#!/usr/bin/env bash
# OpenMP's idle-thread spinning in every program: libgomp itself reports (OMP_DISPLAY_ENV)
# that it started with a short spin count although nobody set one, and that what the user
# set wins. Usage: openmp_wait_policy.sh PROGRAM ARGS... (a program that exits at once)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

spin() { env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose "$@" 2>&1 >/dev/null | sed -n "s/.*GOMP_SPINCOUNT = '\([0-9]*\)'.*/\1/p"; }

check "a short spin by default"        test "$(spin "$@")" = 10000
check "the user's spin count is kept"  test "$(spin env GOMP_SPINCOUNT=77 "$@")" = 77
check "the user's wait policy is kept" test "$(spin env OMP_WAIT_POLICY=passive "$@")" = 0
# Started through the dynamic loader, the program cannot restart itself: it runs as it is.
loader=/lib64/ld-linux-x86-64.so.2
if [ -x "$loader" ]; then
  check "runs through the dynamic loader" bash -c '"$@" > /dev/null' -- "$loader" "$@"
  check "...with libgomp's own default" test "$(spin "$loader" "$@")" = 300000
fi
finish openmp_wait_policy
