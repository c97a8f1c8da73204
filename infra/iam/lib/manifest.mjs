// The permission manifest (shared/src/permissions.rs, printed as JSON): its shape is checked
// once, defaults filled in (`function`, `context`, `samples`), so the commands can trust it.

import { InputError, toArray } from './inputs.mjs';

export function validateManifest(m, path) {
  const where = `manifest ${path}`;
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new InputError(`${where}: not a JSON object`);
  if (!m.principals || typeof m.principals !== 'object') throw new InputError(`${where}: no "principals" object`);
  for (const [name, p] of Object.entries(m.principals)) {
    if (!p || !['hub', 'spoke'].includes(p.template) || typeof p.role !== 'string') {
      throw new InputError(`${where}: principals.${name}: needs "template" ("hub" or "spoke") and "role"`);
    }
    validateSessions(p, `${where}: principals.${name}.sessions`);
  }
  if (!Array.isArray(m.operations)) throw new InputError(`${where}: no "operations" list`);
  m.operations.forEach((op, i) => validateOperation(m, op, `${where}: operations[${i}]`));
  return m;
}

/** `sessions`: { function: session policy } for a role that functions assume with a session policy. */
function validateSessions(p, at) {
  if (p.sessions === undefined) return;
  if (!p.sessions || typeof p.sessions !== 'object' || Array.isArray(p.sessions)) throw new InputError(`${at}: must be an object`);
  for (const [fn, policy] of Object.entries(p.sessions)) {
    if (!policy || typeof policy !== 'object' || !policy.Statement) throw new InputError(`${at}.${fn}: must be a policy document`);
  }
}

function validateOperation(m, op, at) {
  for (const key of ['principal', 'service', 'operation']) {
    if (typeof op?.[key] !== 'string') throw new InputError(`${at}: no "${key}"`);
  }
  if (!Object.hasOwn(m.principals, op.principal)) throw new InputError(`${at}: principal "${op.principal}" is not in "principals"`);
  if (!Array.isArray(op.grants)) throw new InputError(`${at} (${op.service}:${op.operation}): no "grants" list`);
  op.function ??= op.principal;
  const sessions = m.principals[op.principal].sessions;
  if (sessions && !Object.hasOwn(sessions, op.function)) throw new InputError(`${at}: the ${op.principal} role is assumed with session policies and "${op.function}" has none`);
  op.grants.forEach((g, j) => validateGrant(g, `${at} (${op.service}:${op.operation}).grants[${j}]`));
}

function validateGrant(g, gat) {
  if (typeof g?.action !== 'string' || !g.action.includes(':')) throw new InputError(`${gat}: "action" must be "service:Action"`);
  if (!Array.isArray(g.resources) || g.resources.length === 0 || g.resources.some((r) => typeof r !== 'string')) {
    throw new InputError(`${gat}: "resources" must be a non-empty list of strings`);
  }
  g.context ??= {};
  if (typeof g.context !== 'object' || Array.isArray(g.context)) throw new InputError(`${gat}: "context" must be an object`);
  g.samples ??= {};
  for (const [k, v] of Object.entries(g.samples)) g.samples[k] = toArray(v).map(String);
  if (g.when !== null && g.when !== undefined && typeof g.when !== 'string') throw new InputError(`${gat}: "when" must be a path or null`);
}
