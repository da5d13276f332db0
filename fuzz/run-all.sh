#!/usr/bin/env bash
# A short run of every fuzz target, one after the other, each from its committed seeds (and
# whatever an earlier run left in fuzz/corpus/): `fuzz/run-all.sh 30` gives each 30 seconds
# (60 when no argument). Not CI: CI only builds the targets (.ci/run). Needs the nightly
# toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Stops at the first crash, whose
# input libFuzzer leaves in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
cargo +nightly fuzz build -O
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for target in $(cargo +nightly fuzz list); do
    mkdir -p "corpus/$target"
    echo "== $target ($seconds s)"
    if ! cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "$target: crashed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb' "$log" || true
done
