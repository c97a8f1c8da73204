// The `roles` command: every manifest principal's role in the templates, checked without any
// recorded call. Checks a–d on the role's policies (policy-checks.mjs), then e: every grant
// of every operation simulated with sample values (placeholders.mjs, simulate.mjs).

import { actionInfo } from './authorization.mjs';
import { checkRolePolicies } from './policy-checks.mjs';
import { evaluationsOrFinding } from './placeholders.mjs';
import { Report } from './report.mjs';
import { Evaluator } from './simulate.mjs';
import { principalRole } from './templates.mjs';

/** Runs the command; returns the exit status (0 nothing found, 1 findings). */
export async function commandRoles({ manifest, templates, dump, out }) {
  const report = new Report(out);
  const actions = await checkPrincipals({ manifest, templates, dump, out, report });
  await evaluateOperations({ manifest, templates, report, actions });
  const principals = Object.keys(manifest.principals);
  out(`iam roles: ${principals.length} principals, ${manifest.operations.length} operations, ${actions.size} actions checked, ${report.findings} findings`);
  return report.findings > 0 ? 1 : 0;
}

/** Checks a–d on each distinct role of the manifest's principals. Returns the actions the roles name. */
async function checkPrincipals({ manifest, templates, dump, out, report }) {
  const used = usedActionsByRole(manifest);
  const actions = new Set();
  const checkedRoles = new Set();
  for (const principal of Object.keys(manifest.principals)) {
    const p = manifest.principals[principal];
    const role = principalRole(manifest, templates, principal, undefined, report);
    if (!role) continue;
    if (dump) dumpRole(principal, role, out);
    for (const w of role.template.warnings.splice(0)) report.note(`${p.template} template: ${w}`);
    const key = `${p.template}/${p.role}`;
    if (checkedRoles.has(key)) continue;
    checkedRoles.add(key);
    const usedHere = await normalizeUsed(used.get(key) ?? new Set());
    for (const a of await checkRolePolicies(role, usedHere, report)) actions.add(a);
  }
  return actions;
}

/** e. Every grant of every operation, with sample values; adds the manifest's actions to `actions`. */
async function evaluateOperations({ manifest, templates, report, actions }) {
  const evaluator = new Evaluator(report);
  for (const op of manifest.operations) {
    const role = principalRole(manifest, templates, op.principal, undefined, report);
    if (!role) continue;
    for (const grant of op.grants) {
      const info = await actionInfo(grant.action);
      actions.add(info.error ? grant.action.toLowerCase() : info.name);
      if (info.error) {
        report.finding(`unknown action in the manifest: ${op.function} ${op.service}:${op.operation} ${grant.action}: ${info.error}`);
        continue;
      }
      const evaluations = evaluationsOrFinding(grant, op, { template: role.template, roleId: role.roleId, call: null, samples: grant.samples }, report);
      for (const evaluation of evaluations) {
        await evaluator.run({ principal: op.principal, role, account: role.template.account, op, grant, evaluation });
      }
    }
  }
}

/** The actions each role's operations use, by "template/RoleId". */
function usedActionsByRole(manifest) {
  const used = new Map();
  for (const op of manifest.operations) {
    const p = manifest.principals[op.principal];
    const key = `${p.template}/${p.role}`;
    if (!used.has(key)) used.set(key, new Set());
    for (const g of op.grants) used.get(key).add(g.action.toLowerCase());
  }
  return used;
}

/** Actions as the reference spells them (service:ActionName), unknown ones as given. */
async function normalizeUsed(set) {
  const out = new Set();
  for (const a of set) {
    const info = await actionInfo(a);
    out.add(info.error ? a : info.name);
  }
  return out;
}

function dumpRole(principal, role, out) {
  out(`== ${principal}: ${role.template.kind} ${role.roleId} (${role.arn})`);
  for (const p of role.policies) out(`-- policy ${p.name} (${p.from})\n${JSON.stringify(p.document, null, 2)}`);
}
