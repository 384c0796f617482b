#!/usr/bin/env bash
# Runs one fuzz target for SECONDS (default 30) on its corpus and seeds:
#   fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]
# Builds the target first (cargo-fuzz, release with debug assertions and
# AddressSanitizer), fills fuzz/corpus/ from ../shared (seed.sh), runs at
# nice 19, keeps what it learns in fuzz/corpus/TARGET/ (gitignored) and
# what crashes in fuzz/artifacts/TARGET/. Exits non-zero on any crash,
# leak, timeout or out-of-memory. CI runs every target through it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${1:?usage: fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]}"
seconds="${2:-30}"
shift $(($# < 2 ? $# : 2))
cd "$here"
# cargo-fuzz needs unstable compiler flags; the stable toolchain allows
# them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
[ -n "${JCT_FUZZ_NO_SEED:-}" ] || ./seed.sh >/dev/null
mkdir -p "corpus/$target" "artifacts/$target"
seeds=()
[ -d "seeds/$target" ] && seeds+=("seeds/$target")
# The converter can build large models from small inputs: a tighter bound.
rss=2048
[ "$target" = convert_classes ] && rss=512
# AddressSanitizer holds freed memory in a 256 MB quarantine by default;
# the allocation-heavy converter on a grown corpus then passes the RSS
# limit with a small live heap. A smaller quarantine keeps the limit about
# what the code under test allocates.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32"
# libFuzzer caps inputs at the largest seed's size unless told; sessions
# and state files need room to grow.
maxlen=()
case "$target" in
  emulator_apdu) maxlen=(-max_len=4096) ;;
  state_file) maxlen=(-max_len=8192) ;;
esac
# The targets' state files and JARs: on a tmpfs when there is one.
scratch_base=/tmp
[ -d /dev/shm ] && scratch_base=/dev/shm
JCT_FUZZ_SCRATCH="$(mktemp -d -p "$scratch_base" jct-fuzz.XXXXXX)"
export JCT_FUZZ_SCRATCH
trap 'rm -rf "$JCT_FUZZ_SCRATCH"' EXIT
nice -n "${JCT_FUZZ_NICE:-19}" cargo fuzz run "$target" "corpus/$target" "${seeds[@]}" -- \
  -max_total_time="$seconds" -rss_limit_mb="$rss" -timeout=30 \
  -print_final_stats=1 "${maxlen[@]}" "$@"
