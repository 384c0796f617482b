#!/usr/bin/env bash
# The whole test suite, as CI runs it: system packages, then every test of the
# workspace (unit, corpus round trips, mutation sweeps, end to end against the
# emulator over TCP and through real pcscd + vpcd, recorded-trace replays).
# Needs ../shared beside the repository (or JCT_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-system.sh
cargo test --workspace "$@"
