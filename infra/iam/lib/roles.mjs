// The `roles` command: every manifest principal's role in the templates, checked without any
// recorded call. Checks a–d on the role's policies (policy-checks.mjs), then e: every grant
// of every operation simulated with sample values (placeholders.mjs, simulate.mjs), with the
// session policy of the function whose session calls it (a role assumed with session policies),
// then f: each such session is refused every grant the manifest gives only to other sessions.

import { actionInfo } from './authorization.mjs';
import { checkRolePolicies } from './policy-checks.mjs';
import { evaluationsOrFinding } from './placeholders.mjs';
import { Report } from './report.mjs';
import { Evaluator, contextText, simulate } from './simulate.mjs';
import { principalRole, sessionRole } from './templates.mjs';

/** Runs the command; returns the exit status (0 nothing found, 1 findings). */
export async function commandRoles({ manifest, templates, dump, out }) {
  const report = new Report(out);
  const actions = await checkPrincipals({ manifest, templates, dump, out, report });
  await evaluateOperations({ manifest, templates, report, actions });
  const sessions = await checkSessions({ manifest, templates, report });
  const principals = Object.keys(manifest.principals);
  out(`iam roles: ${principals.length} principals, ${manifest.operations.length} operations, ${actions.size} actions checked, ${sessions} session refusals checked, ${report.findings} findings`);
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
    const role = sessionRole(manifest, op.principal, principalRole(manifest, templates, op.principal, undefined, report), op.function);
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

/**
 * f. A role assumed with session policies: each function's session is refused every grant of
 * the other functions' operations whose action its own operations do not use (the spoke's
 * writes are the acceptor's alone). Returns how many refusals were checked.
 */
async function checkSessions({ manifest, templates, report }) {
  let checked = 0;
  for (const [principal, p] of Object.entries(manifest.principals)) {
    for (const fn of Object.keys(p.sessions ?? {})) {
      const role = sessionRole(manifest, principal, principalRole(manifest, templates, principal, undefined, { finding: () => {}, note: () => {} }), fn);
      if (!role) continue;
      const own = new Set(manifest.operations.filter((op) => op.principal === principal && op.function === fn).flatMap((op) => op.grants.map((g) => g.action.toLowerCase())));
      const seen = new Set();
      for (const op of manifest.operations.filter((o) => o.principal === principal && o.function !== fn)) {
        for (const grant of op.grants.filter((g) => !own.has(g.action.toLowerCase()))) {
          for (const evaluation of evaluationsOrFinding(grant, op, { template: role.template, roleId: role.roleId, call: null, samples: grant.samples }, report)) {
            const key = JSON.stringify([grant.action, evaluation.resource, evaluation.context]);
            if (seen.has(key)) continue;
            seen.add(key);
            checked++;
            const verdict = await simulate(role, role.template.account, grant.action, evaluation.resource, evaluation.context);
            if (verdict.result === 'Allowed') {
              report.finding(`SESSION TOO WIDE ${principal} ${role.label}: ${fn}'s session is allowed ${grant.action} on ${evaluation.resource}${contextText(evaluation.context)}, which only ${op.function}'s ${op.service}:${op.operation} needs`);
            }
          }
        }
      }
    }
  }
  return checked;
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
