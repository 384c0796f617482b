#!/usr/bin/env bash
# jCardSim's steady-state rate for the rows of benches/crypto_asym.rs (ECDSA
# P-256 and RSA-2048 signatures by tests/crypto/asymtest), for the README:
# the same setup commands and the same signing APDU through
# tools/jcardsim-runner's `bench N APDU` (the JIT warmed up by a first run).
# jct emu's figures: cargo bench --bench crypto_asym.
# Usage: scripts/bench-asym-vs-jcardsim.sh [N]   (default 2000 per row)
# Needs a JDK and ../shared (or $JCT_SHARED); builds target/release/jct if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
jct=${JCT:-target/release/jct}
[ -x "$jct" ] || cargo build --release --bin jct
shared=${JCT_SHARED:-../shared}
jar=${JCARDSIM_JAR:-$shared/jcardsim/jcardsim.jar}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$jct" api-jar -o "$work/api.jar" >/dev/null
javac -g -nowarn -source 8 -target 8 -bootclasspath "$work/api.jar" -d "$work/classes" \
  tests/crypto/asymtest/src/com/jct/asymtest/*.java
export JCARDSIM_RUNNER_BUILD="$work/runner"

# The rows' setup and command, as in benches/crypto_asym.rs (ROWS).
p256_setup="8040050002 0100
8011000A20 FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
8011000B20 FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC
8011000C20 5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
8011000D41 046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5
8011000E20 FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
8011000F02 0001
8041000000"
p256_cmd="8020210120000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F00"
rsa_setup="8040020002 0800
8041000000"
rsa_cmd="8020280120000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F00"

row() {
  local name=$1 setup=$2 cmd=$3
  local out
  out=$({
    echo "select F000000001C201"
    echo "$setup" | tr -d ' '
    echo "bench $((n / 4)) $cmd"
    echo "bench $n $cmd"
  } | JCARDSIM_JAR="$jar" tools/jcardsim-runner/bin/jcardsim-runner --classes "$work/classes" \
    --install F000000001C201:com.jct.asymtest.AsymTestApplet 2>/dev/null)
  local last ns
  last=$(echo "$out" | tail -n1)
  ns=${last%% *}
  case "${last: -4}" in 9000) ;; *) echo "$name: jCardSim answered $last" >&2; echo "$out" >&2; exit 1 ;; esac
  echo "jCardSim $name: $(python3 -c "print(f'{$n/($ns/1e9):,.0f}')") APDUs/s ($n in $ns ns)"
}
row "ECDSA P-256 SHA-256 sign" "$p256_setup" "$p256_cmd"
row "RSA-2048 CRT PKCS#1 SHA-256 sign" "$rsa_setup" "$rsa_cmd"
echo "jct emu: cargo bench --bench crypto_asym"
