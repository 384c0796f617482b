#!/usr/bin/env bash
# jct emu's crypto beside jCardSim on this machine (issue 12 item 9), in
# process and steady state, one APDU = one whole operation of the crypto
# test applet (tests/crypto/cryptotest): AES-128-CBC init + doFinal of 64
# bytes, SHA-256 doFinal of 200 bytes, 3DES-CBC (three keys) init +
# doFinal of 64 bytes. jCardSim's figures come from the runner's `bench N
# APDU` line (the same classes, its JIT warmed up by a first round);
# jct emu's from `cargo bench --bench crypto` (criterion, the same APDUs:
# benches/crypto.rs). Prints APDUs/s for both and the ratio.
# Usage: scripts/bench-crypto-vs-jcardsim.sh [N]   (default 1000000 per row)
# Needs a JDK and ../shared (or $JCT_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
shared=${JCT_SHARED:-../shared}
jar=${JCARDSIM_JAR:-$shared/jcardsim/jcardsim.jar}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --bin jct >/dev/null 2>&1
target/release/jct api-jar --api 3.0.5 -o "$work/api.jar" >/dev/null
javac -g -nowarn -source 8 -target 8 -bootclasspath "$work/api.jar" -d "$work/classes" \
  tests/crypto/cryptotest/src/com/jct/cryptotest/CryptoTestApplet.java
export JCARDSIM_RUNNER_BUILD="$work/runner"

plain=6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E5130C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710
aes_key=80100F00102B7E151628AED2A6ABF7158809CF4F3C
aes=80200D025210000102030405060708090A0B0C0D0E0F00${plain}00
sha=80300400C900$(printf 'A5%.0s' $(seq 1 200))00
des_key=80100300180123456789ABCDEFFEDCBA987654321089ABCDEF01234567
des=802001024A08000102030405060700${plain}00

# One runner session: warm-up round, then the measured round.
{
  echo "$aes_key"
  for round in warm timed; do
    m=$n; [ $round = warm ] && m=$((n / 4))
    echo "$aes_key"; echo "bench $m $aes"
    echo "bench $m $sha"
    echo "$des_key"; echo "bench $m $des"
  done
} | JCARDSIM_JAR="$jar" tools/jcardsim-runner/bin/jcardsim-runner --classes "$work/classes" \
      --install F000000001C101:com.jct.cryptotest.CryptoTestApplet --select F000000001C101 \
      2>/dev/null >"$work/sim.out"
mapfile -t bench < <(grep -E '^[0-9]+ [0-9A-F]+$' "$work/sim.out" | tail -n 3)
[ ${#bench[@]} -eq 3 ] || { echo "the runner answered:" >&2; cat "$work/sim.out" >&2; exit 1; }
for b in "${bench[@]}"; do
  case "${b#* }" in *9000) ;; *) echo "jCardSim answered ${b#* }" >&2; exit 1 ;; esac
done

cargo bench --bench crypto -- --noplot 2>/dev/null | tee "$work/emu.out" | grep -E '^crypto/|thrpt' || true
python3 - "$n" "$work/emu.out" "${bench[@]}" <<'PY'
import re, sys
n = int(sys.argv[1])
emu = open(sys.argv[2]).read()
names = ["AES-128-CBC of 64 bytes", "SHA-256 of 200 bytes", "3DES-CBC of 64 bytes"]
unit = {"elem/s": 1, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}
print("| operation (one APDU) | jct emu APDUs/s | jCardSim APDUs/s | jct emu / jCardSim |")
print("| --- | ---: | ---: | ---: |")
for name, line in zip(names, sys.argv[3:]):
    sim = n / (int(line.split()[0]) / 1e9)
    m = re.search(re.escape(name) + r"[^\n]*\n(?:[^\n]*\n)*?\s*thrpt:\s*\[[^\]]*?([\d.]+) (\w+/s) ([\d.]+) (\w+/s)", emu)
    ours = float(m.group(3)) * unit[m.group(4)] if m else float("nan")
    print(f"| {name} | {ours:,.0f} | {sim:,.0f} | {ours / sim:.2f} |")
PY
