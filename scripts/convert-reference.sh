#!/usr/bin/env bash
# Converts the converter-reference packages with `jct build` into OUT_DIR,
# for inspecting them (`jct cap dump OUT_DIR/hello.cap`) or diffing them
# against Oracle's output. These used to be two "tests" that only wrote
# files when JCT_CONVERT_OUT was set; writing files is not a test.
#
#   scripts/convert-reference.sh OUT_DIR
#
# hello, arith, lib, oop and crypto are converted from the class files in
# Oracle's 3.2.0 CAP JARs (target 3.0.5); ints, which needs --int, from its
# sources with javac (needs a JDK) against the API jar `jct api-jar` writes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: $0 OUT_DIR}
shared=${JCT_SHARED:-../shared}
ref="$shared/converter-reference"
mkdir -p "$out"
cargo build -q --bin jct
jct=target/debug/jct

build() { # name package-aid [applet-aid=Class] [more jct build options]
  local name=$1 aid=$2
  shift 2
  local applet=()
  if [ $# -gt 0 ] && [[ $1 == *=* ]]; then applet=(--applet "$1"); shift; fi
  "$jct" build "$ref/oracle-3.2.0/$name.cap" --package "com.example.$name" \
    --package-aid "$aid" --version 1.0 "${applet[@]}" --target 3.0.5 \
    -o "$out/$name.cap" --exp "$out/$name.exp" "$@"
}
build hello F00000000101 F0000000010101=HelloApplet
build arith F00000000102 F0000000010201=ArithApplet
build lib F0000000014C
build oop F00000000103 F0000000010301=OopApplet --exportpath "$ref/oracle-3.2.0/lib.exp"
build crypto F00000000104 F0000000010401=CryptoApplet

command -v javac >/dev/null || { echo "ints skipped: javac not found (install a JDK)" >&2; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$jct" api-jar -o "$work/api.jar"
mkdir -p "$work/classes"
javac -g -source 8 -target 8 -nowarn -bootclasspath "$work/api.jar" -d "$work/classes" \
  "$ref"/src/com/example/ints/*.java
"$jct" build "$work/classes" --package com.example.ints --package-aid F00000000105 \
  --version 1.0 --applet F0000000010501=IntApplet --int --debug -o "$out/ints.cap"
