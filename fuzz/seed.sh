#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ (gitignored) with inputs made from the shared
# data (../shared or $JCT_SHARED): CAP files, load files, export files,
# class files and class JARs. The small hand-made seeds committed under
# fuzz/seeds/<target>/ need no script. Idempotent; run.sh calls it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="${JCT_SHARED:-$here/../../shared}"
corpus="$here/corpus"
if [ ! -d "$shared/cap-corpus" ]; then
  echo "seed.sh: no shared data at $shared (set JCT_SHARED); only committed seeds are used" >&2
  exit 0
fi
mkdir -p "$corpus"/{cap_jar,cap_load_file,exp_file,classfile,convert_classes}

# A tool to read JAR entries: unzip, or Python's zipfile.
if command -v unzip >/dev/null 2>&1; then
  list() { unzip -Z1 "$1"; }
  entry() { unzip -p "$1" "$2"; }
elif command -v python3 >/dev/null 2>&1; then
  list() { python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$1"; }
  entry() { python3 -c 'import sys,zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$1" "$2"; }
else
  list() { :; }
  entry() { :; }
  echo "seed.sh: neither unzip nor python3: no load files or class files from the CAPs" >&2
fi

# Two bytes, big-endian, of a length.
be16() { printf "\\x$(printf %02x $(($1 >> 8)))\\x$(printf %02x $(($1 & 255)))"; }

caps=("$shared"/cap-corpus/*.cap "$shared"/converter-reference/oracle-*/*.cap)
for cap in "${caps[@]}"; do
  name="$(basename "$(dirname "$cap")")-$(basename "$cap" .cap)"
  cp "$cap" "$corpus/cap_jar/$name.cap"
  entries="$(list "$cap")"
  # The load file: components in load order, Descriptor included.
  out="$corpus/cap_load_file/$name.ijc"
  : >"$out"
  for c in Header Directory Import Applet Class Method StaticField Export ConstantPool RefLocation Descriptor; do
    e="$(grep -E "(^|/)javacard/$c\.cap$" <<<"$entries" | head -n1 || true)"
    [ -n "$e" ] && entry "$cap" "$e" >>"$out"
  done
  [ -s "$out" ] || rm -f "$out"
  # Class files: one by one, all of a package as one convert_classes
  # input (flags 0x20: the first class is an applet), and the CAP itself
  # as a class JAR (flags 0x21, the package name, NUL, the JAR).
  classes="$(grep -E '^APPLET-INF/classes/.*\.class$' <<<"$entries" || true)"
  [ -n "$classes" ] || continue
  pkg="$(head -n1 <<<"$classes" | sed -e 's|^APPLET-INF/classes/||' -e 's|/[^/]*$||')"
  conv="$corpus/convert_classes/$name.classes"
  printf '\x20' >"$conv"
  while IFS= read -r e; do
    entry "$cap" "$e" >"$corpus/classfile/$name-$(basename "$e")"
    size=$(wc -c <"$corpus/classfile/$name-$(basename "$e")")
    if [ "$(dirname "${e#APPLET-INF/classes/}")" = "$pkg" ] && [ "$size" -lt 65536 ]; then
      be16 "$size" >>"$conv"
      cat "$corpus/classfile/$name-$(basename "$e")" >>"$conv"
    fi
  done <<<"$classes"
  { printf '\x21%s\0' "$pkg"; cat "$cap"; } >"$corpus/convert_classes/$name.jar"
done
find "$shared/exp-corpus" "$shared/converter-reference" -name '*.exp' | while IFS= read -r exp; do
  cp "$exp" "$corpus/exp_file/$(basename "$(dirname "$exp")")-$(basename "$exp")"
done
for d in "$corpus"/*/; do
  echo "seed.sh: $(basename "$d"): $(find "$d" -type f | wc -l) inputs"
done
