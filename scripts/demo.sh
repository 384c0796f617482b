#!/usr/bin/env bash
# The main job on the emulator: build jct, start an emulated GlobalPlatform
# card, and load, install, list, select (its code runs in the JCVM and answers
# "Hello") and delete the sample applet through
# an SCP03 secure channel (C-MAC + C-ENC). Needs only a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --no-default-features --quiet
jct=target/release/jct
state=$(mktemp -d)
port=${JCT_DEMO_PORT:-35990}
$jct emu --listen "127.0.0.1:$port" --state "$state/card" &
emu=$!
trap 'kill $emu 2>/dev/null; wait $emu 2>/dev/null; rm -rf "$state"' EXIT
export JCT_EMU="127.0.0.1:$port" JCT_KEY=404142434445464748494A4B4C4D4E4F
for _ in $(seq 50); do $jct info >/dev/null 2>&1 && break; sleep 0.1; done

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step $jct cap info samples/hello.cap
step $jct cap verify samples/hello.cap
step $jct info
step $jct install samples/hello.cap --mode enc --hash sha256
step $jct list
step $jct apdu --select F0000000010101 00010000
step $jct delete F00000000101 --related --mode enc
step $jct list
echo
echo "demo done: the sample applet was loaded, installed and deleted through SCP03 on jct emu"
