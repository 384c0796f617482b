#!/usr/bin/env bash
# Writes the tables of the GlobalPlatform Card API packages that jct embeds
# (the converter links against them, `jct api-jar` compiles against them,
# the emulated card carries org.globalplatform at the version of its Java
# Card version and org.globalplatform.securechannel), from GlobalPlatform's
# export files in ../shared/exp-corpus/globalplatform:
# cap-tools/api/globalplatform-<version>.json for org.globalplatform, and
# cap-tools/api/<package without "org.">-<version>.json for the others.
# Only facts are taken: tokens, AID, version, flags, descriptors and
# constant values; the export files themselves are never copied. cap-tools'
# tests check the result against the export files.
#
#   scripts/gp-api-table.sh            (every export file there)
#   scripts/gp-api-table.sh org.globalplatform-1.6 org.globalplatform.securechannel-1.1
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${JCT_SHARED:-../shared}
dir="$shared/exp-corpus/globalplatform"
cargo build -q --bin jct
if [ $# -eq 0 ]; then
  set -- $(cd "$dir" && ls *.exp | sed 's/\.exp$//')
fi
for stem in "$@"; do
  exp="$dir/$stem.exp"
  package=${stem%-*}
  version=${stem##*-}
  name=${package#org.}
  out="cap-tools/api/$name-$version.json"
  target/debug/jct exp dump --json "$exp" | jq --arg package "$package" '{
    note: ("Token assignments, AID, version, flags, descriptors and constant values of the GlobalPlatform Card API package " + $package + ", transcribed as facts from the export file GlobalPlatform publishes for this version."),
    format: .format,
    package: .package.name,
    aid: .package.aid,
    version: .package.version,
    flags: .package.flags,
    classes: [.classes[] | {
      name, token, flags, supers, interfaces,
      fields: [.fields[] | {name, descriptor, token, flags} + (if .value == null then {} else {value} end)],
      methods: [.methods[] | {name, descriptor, token, flags}]
    }]
  }' > "$out"
  echo "$out"
done
