#!/usr/bin/env bash
# Builds the libFuzzer targets (-sanitize=fuzzer,address) and runs each for FUZZ_TIME
# seconds (default 60), all at once. New inputs go to .build-fuzz/corpus/<target>; the
# committed corpora in Fuzz/Corpus are read, not written (fold new finds in with
# `Scripts/fuzz.sh merge`). A crash, leak, hang (>10 s an input) or >2 GB input fails.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SCRATCH=${SCRATCH_FUZZ:-.build-fuzz}
TIME=${FUZZ_TIME:-60}
TARGETS=(dn filter config)
FLAGS=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -DGROUPSYNC_FUZZ)

for target in "${TARGETS[@]}"; do
    "$SWIFT" build --scratch-path "$SCRATCH" "${FLAGS[@]}" --product "fuzz-$target" 2>&1 | grep -v "Cannot export local symbol" | tail -1
done

if [[ "${1:-}" == merge ]]; then
    for target in "${TARGETS[@]}"; do
        "$SCRATCH/debug/fuzz-$target" -merge=1 "Fuzz/Corpus/$target" "$SCRATCH/corpus/$target"
    done
    exit 0
fi

pids=()
for target in "${TARGETS[@]}"; do
    mkdir -p "$SCRATCH/corpus/$target"
    ASAN_OPTIONS=detect_leaks=1 "$SCRATCH/debug/fuzz-$target" -max_total_time="$TIME" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$SCRATCH/crash-$target-" -print_final_stats=1 \
        "$SCRATCH/corpus/$target" "Fuzz/Corpus/$target" >"$SCRATCH/fuzz-$target.log" 2>&1 &
    pids+=($!)
done
status=0
for index in "${!TARGETS[@]}"; do
    target=${TARGETS[$index]}
    if wait "${pids[$index]}"; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$SCRATCH/fuzz-$target.log" | grep -o '[0-9]*$' || echo '?')
        echo "fuzz-$target: ${TIME} s, ${runs} inputs, no crash, leak or hang"
    else
        status=1
        echo "fuzz-$target FAILED; the input is in $SCRATCH/crash-$target-*; log:" >&2
        grep -v '^#' "$SCRATCH/fuzz-$target.log" | tail -40 >&2
    fi
done
exit $status
