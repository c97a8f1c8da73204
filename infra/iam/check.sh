#!/usr/bin/env bash
# The IAM checks of `make test`, after the tests ran (infra/iam/README.md):
#   1. the permission manifest (onboarding::permissions), printed by the iam_manifest binary;
#   2. every function's role in template.yaml (after the SAM transform, written by
#      infra/iac-check.sh to target/iam/hub.json) and the spoke's role (target/iam/spoke.json)
#      against the manifest and AWS's authorization data: actions exist, resources match the
#      actions' resource types, condition keys are supported, nothing granted that no
#      operation uses, every operation allowed;
#   3. the hub event bus's resource policies (admission): which callers of other accounts may
#      put events on the bus, against a fixed table of cases;
#   4. every call the end-to-end tests logged (target/iam-calls/*.jsonl, tests/src/call_log.rs)
#      evaluated against the role of the function that made it.
# Any finding fails. Offline once the npm packages are installed (infra/iam/install.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
infra/iam/install.sh
mkdir -p target/iam
for file in target/iam/hub.json target/iam/spoke.json; do
  [[ -f "$file" ]] || { echo "$file is missing: run infra/iac-check.sh (make iac) first" >&2; exit 1; }
done
cargo run --quiet --locked -p onboarding-e2e --bin iam_manifest > target/iam/manifest.json
node infra/iam/check.mjs roles --manifest target/iam/manifest.json \
  --hub target/iam/hub.json --spoke target/iam/spoke.json
node infra/iam/check.mjs admission --hub target/iam/hub.json
shopt -s nullglob
calls=(target/iam-calls/*.jsonl)
if ((${#calls[@]} == 0)); then
  echo "iam calls: no call logs in target/iam-calls (run the tests first)" >&2
  exit 1
fi
cat "${calls[@]}" > target/iam/calls.jsonl
node infra/iam/check.mjs calls --manifest target/iam/manifest.json \
  --hub target/iam/hub.json --spoke target/iam/spoke.json --calls target/iam/calls.jsonl
