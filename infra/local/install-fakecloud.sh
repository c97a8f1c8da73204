#!/usr/bin/env bash
# Installs the fakecloud AWS emulator (crates.io, AGPL; run as a separate process, never
# linked) into cargo's bin dir, once per machine. A plain `cargo install` optimises all of
# fakecloud's ~100 service crates with the release profile; an emulator for tests does not
# need that, so the profile is relaxed for this install only (opt-level 1, no LTO, many
# codegen units, no debug info), which cuts the build time several-fold on 2 cores.
set -euo pipefail
version="${FAKECLOUD_VERSION:-0.51.0}"
bin="${CARGO_HOME:-$HOME/.cargo}/bin/fakecloud"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$version"; then
  exit 0
fi
echo ">> Installing fakecloud $version, the local AWS emulator (one time per machine, about 15 minutes on 2 cores)..."
start=$(date +%s)
CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
CARGO_PROFILE_RELEASE_LTO=false \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
CARGO_PROFILE_RELEASE_DEBUG=0 \
CARGO_PROFILE_RELEASE_INCREMENTAL=false \
CARGO_PROFILE_RELEASE_STRIP=true \
  cargo install fakecloud --locked --version "$version" --quiet
echo ">> fakecloud $version installed in $(( $(date +%s) - start ))s"
