#!/usr/bin/env bash
# `make fuzz`: each cargo-fuzz target for FUZZ_SECONDS (default 60) from a corpus seeded with
# the CloudTrail fixtures (tests/fixtures/cloudtrail) and fuzz/seeds/, then the executions,
# the time and any crash per target. Needs rustup's nightly toolchain (libFuzzer's
# instrumentation); installs cargo-fuzz when missing. Not part of `make test`.
# FUZZ_TARGETS picks targets (default: all three). A crash's input is left in
# fuzz/artifacts/<target>/: make it a unit test in the normal suite, then fix it.
set -uo pipefail
cd "$(dirname "$0")"

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
FUZZ_TARGETS="${FUZZ_TARGETS:-cloudtrail_event accounts_csv org_trust_policy}"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "make fuzz: rustup has no nightly toolchain (rustup toolchain list); cargo-fuzz needs one" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo ">> Installing cargo-fuzz (one time)..."
    cargo install cargo-fuzz --locked --quiet || exit 1
fi

seed() { # target, directory of seeds
    mkdir -p "corpus/$1"
    find "$2" -maxdepth 1 -type f ! -name '*.md' -exec cp -n {} "corpus/$1/" \;
}
seed cloudtrail_event ../tests/fixtures/cloudtrail
seed accounts_csv seeds/accounts_csv
seed org_trust_policy seeds/org_trust_policy
mkdir -p logs

failed=()
for target in $FUZZ_TARGETS; do
    echo ">> $target: ${FUZZ_SECONDS}s"
    cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 >"logs/$target.log" 2>&1
    status=$?
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec)|^SUMMARY|panicked at|^artifact_prefix|Test unit written' "logs/$target.log"
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        echo ">> $target FAILED (exit $status): see fuzz/logs/$target.log and fuzz/artifacts/$target/"
    fi
done

if [ "${#failed[@]}" -ne 0 ]; then
    echo ">> crashes in: ${failed[*]}" >&2
    exit 1
fi
echo ">> no crash in: $FUZZ_TARGETS"
