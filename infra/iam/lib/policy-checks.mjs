// Checks a–d of `roles` on one role's policies, statement by statement (README.md, "What it
// checks"): a. actions exist; b. resources fit the actions' resource types, wildcard-only
// actions are granted on "*"; c. condition keys are supported, multivalued keys have a set
// operator; d. nothing is allowed that no operation of the role uses.

import { toArray } from './inputs.mjs';
import { arnMatchesPattern } from './arn-match.mjs';
import { actionInfo, actionSupportsKey, expandAction, isGlobalKey, isMultivalued } from './authorization.mjs';

/** Checks a–d on one role's policies. Returns the distinct actions it names. */
export async function checkRolePolicies(role, usedActions, report) {
  const named = new Set();
  for (const policy of role.policies) {
    for (const [index, statement] of policy.document.Statement.entries()) {
      const sid = statement.Sid ?? `${policy.name}[${index}]`;
      await checkStatement({ role, sid, where: `${role.label} ${sid}`, statement, usedActions, named, report });
    }
  }
  return named;
}

async function checkStatement(s) {
  const { statement, where, report } = s;
  const allow = statement.Effect === 'Allow';
  if (statement.NotAction !== undefined && allow) report.finding(`NotAction in an Allow statement: ${where}: grants every action it does not list; not checked`);
  if (statement.NotResource !== undefined && allow) report.finding(`NotResource in an Allow statement: ${where}: not checked`);
  const known = await checkActions(s, allow);
  if (statement.NotAction !== undefined) return;
  const resources = toArray(statement.Resource).map(String);
  checkResources(where, known, resources, report);
  checkWildcardOnly(where, known, resources, report);
  await checkConditionKeys(where, known, statement.Condition ?? {}, report);
}

/** a. and d.: every action exists, and an Allow grants none the role does not use. Returns the known actions. */
async function checkActions({ role, sid, where, statement, usedActions, named, report }, allow) {
  const known = [];
  for (const action of toArray(statement.Action ?? statement.NotAction).map(String)) {
    const expanded = await expandAction(action);
    if (expanded.error) {
      report.finding(`unknown action: ${where} ${action}: ${expanded.error}`);
      continue;
    }
    const infos = await Promise.all(expanded.actions.map(actionInfo));
    for (const info of infos) named.add(info.name);
    known.push({ action, wildcard: expanded.wildcard, infos });
    if (allow && statement.Action !== undefined) reportUnused(role, sid, action, expanded.wildcard, infos, usedActions, report);
  }
  return known;
}

function reportUnused(role, sid, action, wildcard, infos, usedActions, report) {
  const unused = infos.filter((i) => !usedActions.has(i.name));
  if (unused.length === 0) return;
  if (!wildcard) {
    report.finding(`granted but unused: ${role.label} ${sid} ${action}`);
    return;
  }
  const sample = unused.slice(0, 3).map((i) => i.name).join(', ');
  report.finding(`granted but unused: ${role.label} ${sid} ${action} (a wildcard: ${unused.length} of the ${infos.length} actions it matches are unused, e.g. ${sample})`);
}

/** b. Every resource other than "*" can name a resource of one of the statement's actions. */
function checkResources(where, known, resources, report) {
  const infos = known.flatMap((k) => k.infos);
  for (const resource of resources) {
    // Actions without resource types are the wildcard-only finding's business.
    if (resource === '*' || !infos.some((i) => i.resourceTypes.length > 0)) continue;
    const patterns = infos.flatMap((i) => i.resourceTypes.map((rt) => rt.arn).filter(Boolean));
    if (patterns.some((p) => arnMatchesPattern(resource, p))) continue;
    const types = [...new Set(infos.flatMap((i) => i.resourceTypes.map((rt) => rt.name)))];
    report.finding(
      `resource matches no resource type: ${where} ${resource} (${known.map((k) => k.action).join(', ')} act on: ${types.length ? types.join(', ') : '"*" only'})`,
    );
  }
}

/** b. An action without resource types is granted on "*". */
function checkWildcardOnly(where, known, resources, report) {
  for (const k of known) {
    if (k.wildcard) continue;
    for (const info of k.infos) {
      if (info.wildcardOnly && !resources.includes('*')) {
        report.finding(`wildcard-only action on a resource: ${where} ${k.action} takes no resource type ("*" only), granted on ${resources.join(', ')}`);
      }
    }
  }
}

/** c. Condition keys: supported by the actions, set operators where (and only where) a key is multivalued. */
async function checkConditionKeys(where, known, condition, report) {
  for (const [operator, block] of Object.entries(condition)) {
    for (const key of Object.keys(block ?? {})) {
      await checkSetOperator(where, operator, key, report);
      if (key.toLowerCase().startsWith('aws:')) {
        if (!isGlobalKey(key)) report.finding(`unknown condition key: ${where} ${key} (${operator}): not a global aws: key`);
        continue;
      }
      for (const k of known) {
        const supported = await Promise.all(k.infos.map((i) => actionSupportsKey(i, key)));
        if (k.wildcard ? !supported.some(Boolean) : !supported.every(Boolean)) {
          report.finding(`unsupported condition key: ${where} ${k.action} ${key} (${operator})`);
        }
      }
    }
  }
}

async function checkSetOperator(where, operator, key, report) {
  const multivalued = await isMultivalued(key);
  const setOperator = /^For(AllValues|AnyValue):/i.test(operator);
  if (multivalued && !setOperator && !/^Null$/i.test(operator)) {
    report.finding(`multivalued condition key without ForAllValues:/ForAnyValue: ${where} ${key} (${operator}): AWS requires a set operator for it (IAM User Guide, single-valued vs. multivalued context keys); iam-simulate never matches it`);
  } else if (multivalued === false && setOperator) {
    report.finding(`set operator on a single-valued condition key: ${where} ${key} (${operator}): AWS says not to (IAM User Guide, single-valued vs. multivalued context keys)`);
  }
}
