#!/usr/bin/env bash
# jct emu beside jCardSim on this machine, for the README (issue figures):
#  1. whole process: start, install the converter-reference hello applet,
#     1,000 APDUs (INS 01, "Hello"), stop — `jct test` on a fresh in-process
#     card (install through the real card manager and SCP03) against
#     tools/jcardsim-runner (the same classes as JVM classes in jCardSim),
#     timed by hyperfine;
#  2. steady state in process: the same echo APDU, jCardSim's figure from
#     the runner's `bench` line (its JIT warmed up first); jct emu's is
#     `cargo bench --bench jcvm`.
# Usage: scripts/bench-vs-jcardsim.sh [RUNS]   (default 10)
# Uses target/release/jct (built if missing; $JCT for another); needs a JDK,
# hyperfine (Debian package) and ../shared (or $JCT_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
jct=${JCT:-target/release/jct}
[ -x "$jct" ] || cargo build --release --bin jct
shared=${JCT_SHARED:-../shared}
jar=${JCARDSIM_JAR:-$shared/jcardsim/jcardsim.jar}
command -v hyperfine >/dev/null || { echo "bench-vs-jcardsim: needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$jct" api-jar -o "$work/api.jar" >/dev/null
javac -g -nowarn -source 8 -target 8 -bootclasspath "$work/api.jar" -d "$work/classes" \
  "$shared"/converter-reference/src/com/example/hello/*.java
"$jct" build "$work/classes" --package com.example.hello --package-aid F00000000101 \
  --version 1.0 --applet F0000000010101=HelloApplet -o "$work/hello.cap" >/dev/null
export JCARDSIM_RUNNER_BUILD="$work/runner"
tools/jcardsim-runner/bin/jcardsim-runner --classes "$work/classes" </dev/null 2>/dev/null

{
  echo "install hello.cap applet F0000000010101"
  echo "select F0000000010101"
  for _ in $(seq 1 1000); do echo ">> 8001000000 << 48656C6C6F 9000"; done
} >"$work/whole.apdu"
{
  echo "select F0000000010101"
  for _ in $(seq 1 1000); do echo "8001000000"; done
} >"$work/whole.lines"
# The runner answers one line per input line; the last must be the greeting.
check=$(JCARDSIM_JAR="$jar" tools/jcardsim-runner/bin/jcardsim-runner --classes "$work/classes" \
  --install F0000000010101:com.example.hello.HelloApplet <"$work/whole.lines" 2>/dev/null | tail -n1)
[ "$check" = "48656C6C6F9000" ] || { echo "jCardSim answered $check" >&2; exit 1; }
"$jct" test "$work/whole.apdu" >/dev/null

hyperfine --warmup 2 --runs "$runs" --export-markdown "$work/whole.md" \
  -n "jct emu (jct test, in process)" "$jct test $work/whole.apdu" \
  -n "jCardSim (runner)" "JCARDSIM_JAR=$jar tools/jcardsim-runner/bin/jcardsim-runner --classes $work/classes --install F0000000010101:com.example.hello.HelloApplet <$work/whole.lines 2>/dev/null"
cat "$work/whole.md"

steady=$(printf 'select F0000000010101\nbench 2000000 8001000000\nbench 5000000 8001000000\n' |
  JCARDSIM_JAR="$jar" tools/jcardsim-runner/bin/jcardsim-runner --classes "$work/classes" \
    --install F0000000010101:com.example.hello.HelloApplet 2>/dev/null | tail -n1)
ns=${steady%% *}
echo "jCardSim steady-state echo: $(python3 -c "print(f'{5000000/($ns/1e9):,.0f}')") APDUs/s (5,000,000 in ${ns} ns; answer ${steady#* })"
echo "jct emu steady-state echo: cargo bench --bench jcvm"
