#!/usr/bin/env bash
# Writes cap-tools/api/globalplatform-<version>.json, the table of the
# GlobalPlatform Card API package org.globalplatform that jct embeds (the
# converter links against it, `jct api-jar` compiles against it, the
# emulated card carries it), from GlobalPlatform's export files in
# ../shared/exp-corpus/globalplatform. Only facts are taken: tokens, AID,
# version, flags, descriptors and constant values; the export files
# themselves are never copied. cap-tools' test `gp_table_matches_export`
# checks the result against the export file.
#
#   scripts/gp-api-table.sh 1.6 1.7
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${JCT_SHARED:-../shared}
cargo build -q --bin jct
for v in "$@"; do
  exp="$shared/exp-corpus/globalplatform/org.globalplatform-$v.exp"
  target/debug/jct exp dump --json "$exp" | jq '{
    note: "Token assignments, AID, version, flags, descriptors and constant values of the GlobalPlatform Card API package org.globalplatform, transcribed as facts from the export file GlobalPlatform publishes for this version.",
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
  }' > "cap-tools/api/globalplatform-$v.json"
  echo "cap-tools/api/globalplatform-$v.json"
done
