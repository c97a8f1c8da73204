#!/usr/bin/env bash
# `sam build` of template.yaml as a new user runs it (samconfig.toml turns the
# rust-cargolambda beta feature on), timed. sam (aws-sam-cli) goes into a venv of its own,
# .venv-sam (its pins conflict with checkov's in .venv); cargo-lambda comes from the venv
# `make package` uses. The binaries are the same as `make package`'s: cargo-lambda,
# release profile, arm64 (template.yaml's Architectures), and the same features (the
# workspace's default-members); when `make package`'s zips are there, each bootstrap is
# compared with its zip's, byte for byte.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SAM_VENV="${SAM_VENV:-.venv-sam}"
VENV="${IAC_VENV:-.venv}"
CARGO_LAMBDA_VERSION=1.9.2

if [[ ! -x "$SAM_VENV/bin/sam" ]]; then
  echo ">> installing aws-sam-cli into $SAM_VENV (one time)"
  python3 -m venv "$SAM_VENV"
  "$SAM_VENV/bin/python" -m pip install --quiet --disable-pip-version-check aws-sam-cli
fi
if [[ ! -x "$VENV/bin/cargo-lambda" ]]; then
  echo ">> installing cargo-lambda $CARGO_LAMBDA_VERSION into $VENV (one time)"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

PATH="$(cd "$VENV/bin" && pwd):$(cd "$SAM_VENV/bin" && pwd):$PATH"
export PATH SAM_CLI_TELEMETRY=0
started=$SECONDS
sam build "$@"
echo ">> sam build: $((SECONDS - started)) s"
ls -l .aws-sam/build/*/bootstrap
# Byte for byte against `make package`, where it ran. `make package` builds each function
# alone; SAM builds each at the workspace root, where cargo resolves features over the
# default members, so only the preflight (which has them all) must match; the other five
# carry the preflight's features in SAM's build (README, Benchmarks) and are reported.
for built in .aws-sam/build/*Function/bootstrap; do
  name=$(basename "$(dirname "$built")")
  crate=$(echo "${name%Function}" | tr '[:upper:]' '[:lower:]')
  zip="target/lambda/$crate/bootstrap.zip"
  [[ -f "$zip" ]] || continue
  if unzip -p "$zip" bootstrap | cmp -s - "$built"; then
    echo ">> $crate: the same binary as make package's"
  elif [[ "$crate" != preflight ]]; then
    echo ">> $crate: $(stat -c %s "$built") bytes, make package's $(unzip -p "$zip" bootstrap | wc -c): SAM's build carries the preflight's features"
  else
    echo ">> $crate: differs from make package's ($zip)" >&2
    exit 1
  fi
done
