#!/usr/bin/env bash
# Figures for the README: a whole `jct install` of applets/hello (SCP03
# C-MAC+C-ENC: SELECT, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, INSTALL [for
# load], LOAD blocks, INSTALL [for install]) through jcardsim-harness beside
# the same install into `jct emu`, and APDUs per second through each: to the
# ISD (GET DATA 9F7F, which in the harness travels ENVELOPE -> card manager ->
# WRAP) and to the selected applet (HelloApplet in jCardSim; `jct emu` runs no
# applet code yet and answers 6D00).
#
# Usage: scripts/bench-jcardsim.sh [INSTALLS] [APDUS]   (defaults 20 and 2000)
# Uses target/release/jct (built if missing; $JCT for another); needs a JDK and ../shared.
# The emulator's state path has no extension: a file in older jct, a directory since
# the journaled store.
set -euo pipefail
cd "$(dirname "$0")/.."
installs=${1:-20}
apdus=${2:-2000}
jct=${JCT:-target/release/jct}
[ -x "$jct" ] || cargo build --release --bin jct
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$jct" api-jar -o "$work/api.jar" >/dev/null
javac -g -nowarn -source 8 -target 8 -bootclasspath "$work/api.jar" -d "$work/sc" \
  $(find applets/secure-channel/src -name '*.java') 2>/dev/null
cp -r applets/hello "$work/hello"
rm -rf "$work/hello/build"
javac -g -nowarn -source 8 -target 8 -bootclasspath "$work/api.jar" -d "$work/hello/build/classes" \
  $(find "$work/hello/src" -name '*.java') 2>/dev/null
(cd "$work/hello" && "$OLDPWD/$jct" build >/dev/null)
cap="$work/hello/build/hello.cap"

jcardsim-harness/bin/jcardsim-harness --listen 127.0.0.1:0 --classes "$work/sc" \
  --classes "$work/hello/build/classes" --state "$work/harness.state" --log "$work/harness.log" \
  >"$work/harness.out" &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^listening' "$work/harness.out" 2>/dev/null && break; sleep 0.2; done
harness=$(sed -n 's/^listening //p' "$work/harness.out")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$jct" emu --listen "127.0.0.1:$port" --state "$work/emu-state" >/dev/null 2>&1 &
pids+=($!)
sleep 1
emu="127.0.0.1:$port"
key=404142434445464748494A4B4C4D4E4F

now() { date +%s%N; }
bench() {  # name addr
  local name=$1 addr=$2 total=0 t0 t1
  # one warm-up install (the JVM's JIT, the emulator's first state write)
  "$jct" install "$cap" --mode enc --emu "$addr" --key "$key" >/dev/null 2>&1
  "$jct" delete F000000001A1 --related --emu "$addr" --key "$key" >/dev/null 2>&1
  for _ in $(seq 1 "$installs"); do
    t0=$(now)
    "$jct" install "$cap" --mode enc --emu "$addr" --key "$key" >/dev/null 2>&1
    t1=$(now)
    total=$((total + t1 - t0))
    "$jct" delete F000000001A1 --related --emu "$addr" --key "$key" >/dev/null 2>&1
  done
  printf '%-8s install of applets/hello (mean of %d): %6.1f ms\n' "$name" "$installs" "$(echo "$total / $installs / 1000000" | bc -l)"
  "$jct" install "$cap" --emu "$addr" --key "$key" >/dev/null 2>&1
  for target in isd applet; do
    if [ "$target" = isd ]; then
      set -- apdu; cmd=80CA9F7F00
    else
      set -- apdu --select F000000001A101; cmd=8001000000
    fi
    list=$(for _ in $(seq 1 "$apdus"); do printf "%s " "$cmd"; done)
    t0=$(now)
    # shellcheck disable=SC2086
    "$jct" "$@" $list --emu "$addr" --key "$key" >"$work/out" 2>&1 || { echo "jct apdu failed:"; tail -n 5 "$work/out"; }
    t1=$(now)
    printf '%-8s %4d APDUs to the %-6s in one jct apdu: %7.0f APDUs/s (last answer %s)\n' "$name" "$apdus" "$target" \
      "$(echo "$apdus / (($t1 - $t0) / 1000000000)" | bc -l)" "$(tail -n1 "$work/out")"
  done
  "$jct" delete F000000001A1 --related --emu "$addr" --key "$key" >/dev/null 2>&1
}
bench harness "$harness"
bench "jct emu" "$emu"
