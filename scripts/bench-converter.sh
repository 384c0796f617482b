#!/usr/bin/env bash
# Opt-in comparison of `jct build` with Oracle's converter on the reference
# hello applet, timed with hyperfine. Needs JC_HOME pointing at a Java Card
# kit (3.0.5 or later) and hyperfine; skips with a message otherwise.
# jct never needs the kit: this is only a yardstick.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${JC_HOME:-}" ]; then
  echo "skipped: JC_HOME is not set (point it at an Oracle Java Card kit to compare)"
  exit 0
fi
converter=""
for c in "$JC_HOME/bin/converter.sh" "$JC_HOME/bin/converter"; do
  [ -x "$c" ] && converter="$c" && break
done
[ -n "$converter" ] || { echo "skipped: no bin/converter(.sh) in $JC_HOME"; exit 0; }
command -v hyperfine >/dev/null || { echo "skipped: hyperfine is not installed (apt-get install hyperfine)"; exit 0; }
shared=${JCT_SHARED:-../shared}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --no-default-features
target/release/jct api-jar -o "$work/api.jar" >/dev/null
mkdir -p "$work/classes"
javac -g -source 8 -target 8 -nowarn -bootclasspath "$work/api.jar" -d "$work/classes" \
  "$shared"/converter-reference/src/com/example/hello/*.java 2>/dev/null
hyperfine --warmup 2 \
  "target/release/jct build $work/classes --package com.example.hello --package-aid F00000000101 --version 1.0 --applet F0000000010101=HelloApplet -o $work/jct.cap" \
  "$converter -classdir $work/classes -exportpath $JC_HOME/api_export_files -applet 0xf0:0x00:0x00:0x00:0x01:0x01:0x01 com.example.hello.HelloApplet -out CAP -d $work/oracle com.example.hello 0xf0:0x00:0x00:0x00:0x01:0x01 1.0"
