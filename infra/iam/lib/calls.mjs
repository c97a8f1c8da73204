// The `calls` command: every call the end-to-end tests logged (JSON Lines,
// tests/src/call_log.rs) evaluated against the role of the principal that made it, resolved
// with the call's account and stack. A call the manifest does not list is a finding; identical
// evaluations run once; operations never called are notes.

import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import { InputError } from './inputs.mjs';
import { evaluationsOrFinding, lookup } from './placeholders.mjs';
import { Report } from './report.mjs';
import { Evaluator } from './simulate.mjs';
import { principalRole, sessionRole } from './templates.mjs';

/** Runs the command; returns the exit status (0 nothing found, 1 denials or findings). */
export async function commandCalls({ manifest, templates, callsPath, accountOf, out }) {
  const report = new Report(out);
  const run = { manifest, templates, accountOf, report, evaluator: new Evaluator(report), seenOps: new Set(), notInManifest: new Map() };
  let calls = 0;
  let lineNo = 0;
  for await (const line of await openLines(callsPath)) {
    lineNo++;
    if (line.trim() === '') continue;
    const call = parseCall(line, `calls ${callsPath}:${lineNo}`);
    calls++;
    await evaluateCall(run, call, call.test ?? `${callsPath}:${lineNo}`);
  }
  reportNotInManifest(manifest, run.notInManifest, report);
  manifest.operations.forEach((op, i) => {
    if (!run.seenOps.has(i)) report.note(`never called: ${op.principal}${op.function === op.principal ? '' : ` (${op.function})`} ${op.service}:${op.operation}`);
  });
  const denied = await run.evaluator.denied();
  out(`iam calls: ${calls} calls, ${run.evaluator.distinct} distinct evaluations, ${denied} denied, ${run.notInManifest.size} not in manifest`);
  return denied + run.notInManifest.size > 0 || report.findings > 0 ? 1 : 0;
}

async function openLines(callsPath) {
  let stream;
  try {
    stream = createReadStream(callsPath, { encoding: 'utf8' });
    await new Promise((resolve, reject) => {
      stream.once('open', resolve);
      stream.once('error', reject);
    });
  } catch (error) {
    throw new InputError(`calls ${callsPath}: cannot read (${error.code ?? error.message})`);
  }
  return readline.createInterface({ input: stream, crlfDelay: Infinity });
}

function parseCall(line, where) {
  let call;
  try {
    call = JSON.parse(line);
  } catch (error) {
    throw new InputError(`${where}: not valid JSON (${error.message})`);
  }
  validateCall(call, where);
  return call;
}

function validateCall(call, where) {
  if (!call || typeof call !== 'object' || Array.isArray(call)) throw new InputError(`${where}: not a JSON object`);
  for (const key of ['principal', 'service', 'operation']) {
    if (typeof call[key] !== 'string') throw new InputError(`${where}: no "${key}"`);
  }
  if (call.request !== undefined && call.request !== null && typeof call.request !== 'object') throw new InputError(`${where}: "request" must be an object`);
  if (call.response !== undefined && call.response !== null && typeof call.response !== 'object') throw new InputError(`${where}: "response" must be an object or null`);
  if (call.account !== undefined && call.account !== null && !/^\d{12}$/.test(String(call.account))) throw new InputError(`${where}: "account" must be 12 digits`);
  if (call.stack !== undefined && call.stack !== null) {
    const ok = (v) => v === undefined || (v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string'));
    if (typeof call.stack !== 'object' || !ok(call.stack.params) || !ok(call.stack.names)) {
      throw new InputError(`${where}: "stack" must be {"params": {name: string}, "names": {logical id: string}}`);
    }
  }
}

/** Evaluates one call's grants (those whose `when` holds), or counts it as not in the manifest. */
async function evaluateCall(run, call, test) {
  const { manifest, templates, accountOf, report, evaluator } = run;
  const fn = call.function ?? call.principal;
  // A session with a session policy may call only its own function's operations.
  const bySession = Boolean(manifest.principals[call.principal]?.sessions);
  const index = manifest.operations.findIndex(
    (o) => o.principal === call.principal && (!bySession || o.function === fn) && o.service === call.service && o.operation === call.operation,
  );
  if (index < 0) {
    countNotInManifest(run.notInManifest, call, fn, test);
    return;
  }
  run.seenOps.add(index);
  const op = manifest.operations[index];
  const opForMessages = { ...op, function: fn };
  const account = accountOf[call.principal] ?? (call.account ? String(call.account) : undefined);
  const role = sessionRole(manifest, call.principal, principalRole(manifest, templates, call.principal, account, report, call.stack ?? undefined), fn);
  if (!role) return;
  const notes = new Set();
  const env = { template: role.template, roleId: role.roleId, call: { request: call.request ?? {}, response: call.response ?? null }, samples: null, notes };
  for (const grant of op.grants) {
    if (!whenHolds(grant.when, env.call)) continue;
    for (const evaluation of evaluationsOrFinding(grant, op, { ...env, samples: grant.samples }, report)) {
      await evaluator.run({ principal: call.principal, role, account: role.template.account, op: opForMessages, grant, evaluation, test });
    }
  }
  for (const n of notes) report.note(`${op.function} ${op.service}:${op.operation}: ${n}`);
}

/** Whether a grant's `when` path is in the call (an empty list counts as absent: an SDK sends none). */
function whenHolds(when, call) {
  if (!when) return true;
  const m = /^(request|response)\.(.+)$/.exec(when);
  if (!m) return lookup(call.request ?? {}, when).length > 0;
  const body = m[1] === 'request' ? call.request : call.response;
  return body ? lookup(body, m[2]).some((v) => !(Array.isArray(v) && v.length === 0)) : false;
}

function countNotInManifest(notInManifest, call, fn, test) {
  const key = `${call.principal}|${fn}|${call.service}|${call.operation}`;
  const entry = notInManifest.get(key) ?? { fn, call, test, count: 0 };
  entry.count++;
  notInManifest.set(key, entry);
}

function reportNotInManifest(manifest, notInManifest, report) {
  for (const { fn, call, test, count } of notInManifest.values()) {
    const known = Object.hasOwn(manifest.principals, call.principal) ? `principal ${call.principal}` : `principal ${call.principal}, which the manifest does not list`;
    report.finding(`NOT IN MANIFEST ${fn} ${call.service}:${call.operation} (${known}; ${count} call${count === 1 ? '' : 's'}, first in test: ${test})`);
  }
}
