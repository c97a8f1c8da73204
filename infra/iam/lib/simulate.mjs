// The policy evaluation (@cloud-copilot/iam-simulate, Strict mode) and what a denial says.
// `simulate` evaluates a role's identity policies as in the principal's own account (no SCPs,
// no resource policy but a KMS key's assumed default key policy); `runStrict` runs any
// simulation (admission.mjs passes a bus policy and a principal of another account);
// `Evaluator` runs each distinct evaluation once and reports denials with the statement to add.

import { runSimulation } from '@cloud-copilot/iam-simulate';

/**
 * A KMS key authorizes nothing by IAM policies alone: its key policy must let the account's IAM
 * policies grant access. The check assumes the default key policy, which does.
 */
function assumedResourcePolicy(action, resource, account, partition) {
  if (/^kms:/i.test(action) && /^arn:[^:]*:kms:[^:]*:[^:]*:key\//.test(resource)) {
    return {
      Version: '2012-10-17',
      Statement: [{ Sid: 'AssumedDefaultKeyPolicy', Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
    };
  }
  return undefined;
}

/** Context values as iam-simulate takes them: one value as a string, several as a list. */
export function contextVariables(context) {
  const variables = {};
  for (const [k, values] of Object.entries(context)) variables[k] = values.length === 1 ? values[0] : values;
  return variables;
}

/** Runs a simulation in Strict mode: { error } or { overallResult, analyses (one per resource pattern) }. */
export async function runStrict(simulation) {
  const result = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (result.resultType === 'error') return { error: errorText(result.errors) };
  const analyses = result.resultType === 'single' ? [result.result] : result.results;
  return { overallResult: result.overallResult, analyses };
}

function errorText(errors) {
  const details = [];
  for (const [key, value] of Object.entries(errors)) {
    if (key === 'message') continue;
    details.push(`${key}: ${JSON.stringify(value)}`);
  }
  return `${errors.message}${details.length ? ` (${details.join('; ')})` : ''}`;
}

/**
 * A role's identity policies (and its session policy, `role.session`, when a session uses it) on
 * one request: { result, denySid, ignored, conditionFailures } or { result: 'Error', error }.
 */
export async function simulate(role, account, action, resource, context) {
  const resourcePolicy = assumedResourcePolicy(action, resource, account, role.template?.partition ?? 'aws');
  const run = await runStrict({
    request: { principal: role.arn, action, resource: { resource, accountId: account }, contextVariables: contextVariables(context) },
    identityPolicies: role.policies.map((p, i) => ({ name: `${i}:${p.name}`, policy: p.document })),
    ...(role.session ? { sessionPolicy: role.session } : {}),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {}),
  });
  if (run.error) return { result: 'Error', error: run.error };
  const identity = run.analyses.map((a) => a.analysis?.identityAnalysis);
  const denySid = identity.flatMap((i) => i?.denyStatements ?? []).map((s) => s.explain?.identifier)[0];
  const ignored = [...new Set(run.analyses.flatMap((a) => a.ignoredContextKeys ?? []))];
  const conditionFailures = failedConditions(identity.flatMap((i) => i?.unmatchedStatements ?? []));
  const sessionDenied = Boolean(role.session) && run.analyses.some((a) => a.analysis?.sessionAnalysis && a.analysis.sessionAnalysis.result !== 'Allowed');
  return { result: run.overallResult, denySid, ignored, conditionFailures, sessionDenied };
}

/**
 * Allow statements that would grant the action on the resource (to the principal, in a
 * resource policy) but whose condition fails, each with the condition that failed and why.
 */
export function failedConditions(unmatchedStatements) {
  const failures = [];
  for (const s of unmatchedStatements) {
    if (s.explain?.effect !== 'Allow' || !s.actionMatch || !s.resourceMatch || s.conditionMatch === 'Match') continue;
    if (s.principalMatch === 'NoMatch') continue;
    for (const c of s.explain?.conditions ?? []) {
      if (!c.matches) failures.push(`${s.explain.identifier ?? 'a statement'} (${c.operator} ${c.conditionKeyValue}: ${whyConditionFailed(c)})`);
    }
  }
  return [...new Set(failures)];
}

function whyConditionFailed(c) {
  if (c.failedBecauseMissing) return 'the request has no such key';
  if (c.failedBecauseArray) return 'a multivalued key needs ForAllValues:/ForAnyValue:';
  return 'the value does not match';
}

export function contextText(context) {
  const entries = Object.entries(context);
  if (entries.length === 0) return '';
  return ` [${entries.map(([k, v]) => `${k}=${v.join(',')}`).join(' ')}]`;
}

/** The finding for a denied grant: the statement that refuses it, or the statement to add. */
function denialLine({ op, grant, role, evaluation, verdict, test }) {
  const implied = grant.implied_by ? ` (implied by ${grant.implied_by})` : '';
  const head = `DENIED ${op.function} ${op.service}:${op.operation} needs ${grant.action}${implied} on ${evaluation.resource}${contextText(evaluation.context)}`;
  const tail = test ? ` (test: ${test})` : '';
  if (verdict.result === 'ExplicitlyDenied') return `${head}: explicitly denied by ${role.label} ${verdict.denySid ?? ''}`.trimEnd() + tail;
  if (verdict.sessionDenied) return `${head}: ${role.label} allows it, ${role.sessionOf}'s session policy does not (the manifest's sessions: list the operation for ${role.sessionOf} in permissions::spoke_operations)${tail}`;
  if (verdict.conditionFailures?.length) return `${head}: ${role.label} grants it only under a condition that fails: ${verdict.conditionFailures.join('; ')}${tail}`;
  let resource = evaluation.suggest;
  if (resource === '*' && evaluation.resource !== '*') resource = evaluation.resource;
  const statement = {
    Effect: 'Allow',
    Action: grant.action,
    Resource: resource.includes('${') ? { 'Fn::Sub': resource } : resource,
  };
  return `${head}: add to ${role.label}: ${JSON.stringify(statement)}${tail}`;
}

/** Runs one evaluation, once per distinct (principal, account, action, resource, context). */
export class Evaluator {
  constructor(report) {
    this.report = report;
    this.cache = new Map();
  }

  async run(evaluationRequest) {
    const { principal, role, grant, evaluation } = evaluationRequest;
    const key = JSON.stringify([principal, role.template.key, role.sessionOf ?? null, grant.action.toLowerCase(), evaluation.resource, evaluation.context]);
    if (!this.cache.has(key)) this.cache.set(key, this.evaluate(evaluationRequest));
    return this.cache.get(key);
  }

  async evaluate({ role, account, op, grant, evaluation, test }) {
    const verdict = await simulate(role, account, grant.action, evaluation.resource, evaluation.context);
    if (verdict.result === 'Error') {
      this.report.finding(
        `SIMULATION ERROR ${op.function} ${op.service}:${op.operation} ${grant.action} on ${evaluation.resource}: ${verdict.error}${test ? ` (test: ${test})` : ''}`,
      );
    } else if (verdict.result !== 'Allowed') {
      this.report.finding(denialLine({ op, grant, role, evaluation, verdict, test }));
    }
    for (const k of verdict.ignored ?? []) {
      this.report.note(`${op.function} ${op.service}:${op.operation}: context key ${k} does not apply to ${grant.action} (iam-simulate ignored it)`);
    }
    return verdict;
  }

  get distinct() {
    return this.cache.size;
  }

  async denied() {
    let n = 0;
    for (const p of this.cache.values()) if ((await p).result !== 'Allowed') n++;
    return n;
  }
}
