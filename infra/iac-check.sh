#!/usr/bin/env bash
# IaC checks for template.yaml (SAM hub) and infra/spoke.yaml (customer accounts):
#   1. cfn-lint on both templates, as written;
#   2. the SAM transform (aws-sam-translator: what `sam validate` runs), then cfn-lint on the
#      transformed hub template, which catches references to resources SAM generates;
#   3. checkov on both templates and on the transformed hub (its generated roles, rules and
#      permissions); a skip lives in the template as Metadata.checkov.skip with a comment;
#   4. every function crate under functions/ has its AWS::Serverless::Function.
# Any finding fails the script. Offline once the venv exists; no AWS credentials needed.
#
# The tools live in a venv (default .venv at the repository root, override with IAC_VENV),
# created and filled with the pinned versions below on first use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
SAM_TRANSLATOR_VERSION=1.115.0

VENV="${IAC_VENV:-.venv}"
TEMPLATES=(template.yaml infra/spoke.yaml)
started=$SECONDS
step() { printf '>> %s (%ds)\n' "$1" $((SECONDS - started)); }

# --- tools ---------------------------------------------------------------------------------
stamp="$VENV/.iac-tools-cfn-lint-$CFN_LINT_VERSION-checkov-$CHECKOV_VERSION-sam-translator-$SAM_TRANSLATOR_VERSION"
if [[ ! -f "$stamp" ]]; then
  step "installing cfn-lint $CFN_LINT_VERSION, checkov $CHECKOV_VERSION, aws-sam-translator $SAM_TRANSLATOR_VERSION into $VENV"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
  touch "$stamp"
fi
py="$VENV/bin/python"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- 1. cfn-lint ---------------------------------------------------------------------------
step "cfn-lint ${TEMPLATES[*]}"
"$VENV/bin/cfn-lint" --non-zero-exit-code informational -- "${TEMPLATES[@]}"

# --- 2. SAM transform ----------------------------------------------------------------------
step "SAM transform of template.yaml, cfn-lint on the result"
transformed="$work/template.transformed.json"
"$py" - template.yaml "$transformed" <<'PY'
import json
import sys

import boto3
from samtranslator.parser import parser
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

source, target = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as f:
    template = yaml_parse(f.read())
# As `sam validate` does: the translator wants S3 locations, not the local CodeUri.
template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
for name, resource in template.get("Resources", {}).items():
    if resource.get("Type") == "AWS::Serverless::Function":
        resource.setdefault("Properties", {})["CodeUri"] = f"s3://sam-validate-placeholder/{name}.zip"
translator = Translator(
    managed_policy_map=None,
    sam_parser=parser.Parser(),
    plugins=[],
    boto_session=boto3.session.Session(region_name="us-east-1"),
)
try:
    # No managed policy names are used, so no IAM look-up (and no credentials) is needed.
    result = translator.translate(sam_template=template, parameter_values={}, get_managed_policy_map=lambda: {})
except InvalidDocumentException as error:
    for cause in error.causes:
        print(f"{source}: SAM: {cause.message}", file=sys.stderr)
    sys.exit(1)
with open(target, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
PY
# The IAM checker (infra/iam/check.mjs) reads both templates as JSON: the transformed hub, and
# the spoke with its short-form intrinsics (!Ref, !Sub) in long form.
mkdir -p target/iam
cp "$transformed" target/iam/hub.json
"$py" - infra/spoke.yaml target/iam/spoke.json <<'PY'
import json
import sys

from samtranslator.yaml_helper import yaml_parse

with open(sys.argv[1], encoding="utf-8") as f:
    template = yaml_parse(f.read())
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(template, f, indent=1)
PY
"$VENV/bin/cfn-lint" --non-zero-exit-code informational -- "$transformed"

# --- 3. checkov ----------------------------------------------------------------------------
step "checkov ${TEMPLATES[*]} and the transformed hub"
checkov_args=(--framework cloudformation --quiet --compact --skip-download)
for file in "${TEMPLATES[@]}" "$transformed"; do checkov_args+=(-f "$file"); done
set +e
checkov_out="$("$VENV/bin/checkov" "${checkov_args[@]}" 2>&1)"
checkov_rc=$?
set -e
printf '%s\n' "$checkov_out"
# checkov exits 0 on a template it cannot parse: treat that, and an empty scan, as failures.
if ((checkov_rc != 0)) || grep -Eq 'Parsing errors: [1-9]' <<<"$checkov_out" \
  || ! grep -Eq 'Passed checks: [1-9]' <<<"$checkov_out"; then
  echo "checkov: findings or unreadable templates (see above)" >&2
  exit 1
fi

# --- 4. every function crate has its resource ----------------------------------------------
step "function crates against template.yaml"
"$py" - template.yaml <<'PY'
import pathlib
import sys
import tomllib

from samtranslator.yaml_helper import yaml_parse

resources = yaml_parse(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"))["Resources"]
binaries = {
    (r.get("Metadata", {}).get("BuildProperties", {}) or {}).get("Binary"): name
    for name, r in resources.items()
    if r.get("Type") == "AWS::Serverless::Function"
}
crates = sorted(
    tomllib.loads(p.read_text(encoding="utf-8"))["package"]["name"]
    for p in pathlib.Path("functions").glob("*/Cargo.toml")
)
missing = [c for c in crates if c not in binaries]
for crate in missing:
    print(f"functions/{crate}: no AWS::Serverless::Function builds binary '{crate}' in template.yaml", file=sys.stderr)
for binary, name in sorted(binaries.items(), key=lambda kv: str(kv[0])):
    if binary not in crates:
        print(f"note: {name} builds binary '{binary}', which no crate under functions/ provides yet")
for name, r in resources.items():
    if r.get("Type") == "AWS::Serverless::Function" and r.get("Metadata", {}).get("BuildMethod") != "rust-cargolambda":
        print(f"{name}: Metadata.BuildMethod must be rust-cargolambda", file=sys.stderr)
        missing.append(name)
sys.exit(1 if missing else 0)
PY

step "IaC checks passed"
