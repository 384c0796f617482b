#!/usr/bin/env bash
# The release profile's effect (README, Performance): two jct binaries, e.g.
# one built with Cargo's default release profile and one with the tuned
# [profile.release] of Cargo.toml, side by side:
#  - binary size;
#  - `jct test` of 1,000 APDUs on a fresh in-process card (start, install
#    the converter-reference hello applet through the card manager and
#    SCP03, the APDUs, stop);
#  - `jct cap verify` of the largest CAP of ../shared/cap-corpus;
#  - `jct run` in an up-to-date `jct new` project (javac fingerprint, convert,
#    install, the test script).
# Usage: scripts/bench-release-profile.sh BEFORE AFTER [RUNS]   (default 20)
# Needs a JDK, hyperfine and ../shared (or $JCT_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(realpath "$1")
after=$(realpath "$2")
runs=${3:-20}
shared=$(realpath "${JCT_SHARED:-../shared}")
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

ls -l "$before" "$after" | awk '{print $5, $9}'

"$after" api-jar -o "$work/api.jar" 2>/dev/null
javac -g -nowarn -source 8 -target 8 -bootclasspath "$work/api.jar" -d "$work/classes" \
  "$shared"/converter-reference/src/com/example/hello/*.java
"$after" build "$work/classes" --package com.example.hello --package-aid F00000000101 \
  --version 1.0 --applet F0000000010101=HelloApplet -o "$work/hello.cap" >/dev/null
{
  echo "install hello.cap applet F0000000010101"
  echo "select F0000000010101"
  for _ in $(seq 1 1000); do echo ">> 8001000000 << 48656C6C6F 9000"; done
} >"$work/whole.apdu"
big=$(ls -S "$shared"/cap-corpus/*.cap | head -n1)
(cd "$work" && "$after" new demo >/dev/null && cd demo && "$after" run >/dev/null)

for what in test verify run; do
  case $what in
    test) cmd="test $work/whole.apdu" ;;
    verify) cmd="cap verify $big" ;;
    run) cmd="run --project $work/demo" ;;
  esac
  hyperfine -N --warmup 3 --runs "$runs" --export-markdown "$work/$what.md" \
    -n "before: jct $what" "$before $cmd" -n "after: jct $what" "$after $cmd" >/dev/null
  cat "$work/$what.md"
done
