#!/usr/bin/env bash
# onboardctl at scale on the local emulator, for a figure (not a test): enrolls a CSV of
# N lines (default 10,000: one management account and its members) with `enroll --file`,
# then times `status` (summary first) and `status --json` (streamed). Uses a fresh
# fakecloud on a free port and the emulator's default-account keys (`test`), stops it after.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

LINES="${1:-10000}"
FAKECLOUD="${FAKECLOUD:-$HOME/.cargo/bin/fakecloud}"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --quiet --locked -p onboardctl
onboardctl="${CARGO_TARGET_DIR:-target}/debug/onboardctl"

"$FAKECLOUD" --addr 127.0.0.1:0 --log-level warn >"$work/fakecloud.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q FAKECLOUD_PORT "$work/fakecloud.out" && break; sleep 0.05; done
port="$(sed -n 's/.*FAKECLOUD_PORT=\([0-9]*\).*/\1/p' "$work/fakecloud.out" | head -n 1)"

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true \
  TABLE_NAME=scale EVENT_BUS_NAME=scale
"$onboardctl" init >/dev/null
# enroll reads the target organization's accounts (to refuse enrolling any of them): the
# default account manages one, and is the target.
aws organizations create-organization --feature-set ALL >/dev/null
export TARGET_ORGANIZATION_ID="$(aws organizations describe-organization --query Organization.Id --output text)"
export TARGET_MANAGEMENT_ACCOUNT_ID="$(aws organizations describe-organization --query Organization.MasterAccountId --output text)"

python3 - "$LINES" >"$work/accounts.csv" <<'PY'
import sys
lines = int(sys.argv[1])
print("account_id,role")
print("100000000000,management")
for n in range(1, lines):
    print(f"{100000000000 + n},member")
PY

measure() {
  local what=$1; shift
  local started=$EPOCHREALTIME
  "$@" >"$work/out" 2>/dev/null
  printf '%-40s %6.1f s  (%s lines out)\n' "$what" "$(echo "$EPOCHREALTIME - $started" | bc)" "$(wc -l <"$work/out")"
}
measure "enroll --file ($LINES lines)" "$onboardctl" enroll scale --mode standalone --file "$work/accounts.csv"
tail -n 1 "$work/out"
measure "status" "$onboardctl" status
head -n 3 "$work/out"
measure "status --json" "$onboardctl" status --json
measure "status --phase DeletingOrganization" "$onboardctl" status --phase DeletingOrganization
