// The `admission` command: who may put events on the hub's event bus. The bus's resource
// policy (bus-policy.mjs) is evaluated with iam-simulate for events:PutEvents on the bus, for
// a fixed table of callers in other accounts (so only the resource policy can admit them; each
// caller's own identity policy allows events:PutEvents on "*"). A case that does not come out
// as expected is a finding.

import { eventBusPolicy } from './bus-policy.mjs';
import { Report } from './report.mjs';
import { contextText, failedConditions, runStrict } from './simulate.mjs';

export const CUSTOMER_ORGANIZATION = 'o-customerorg1';
export const CUSTOMER_ACCOUNT = '555555555555';

/** Hub parameters the cases assume, unless a --param says otherwise. */
export const ADMISSION_PARAMS = { CustomerOrganizationIds: CUSTOMER_ORGANIZATION, CustomerAccountIds: CUSTOMER_ACCOUNT };

const FORWARD_ROLE = 'arn:aws:iam::333333333333:role/org-onboarding-forward';
const ORGANIZATIONS = 'aws.organizations';

/** The callers: principal, its organization (none: not in one), the events' source, and the verdict expected. */
export const ADMISSION_CASES = [
  // The account left its organization (between organizations): why the forwarders' statement exists.
  { name: 'forward role, no organization', principal: FORWARD_ROLE, source: ORGANIZATIONS, expected: 'allowed' },
  { name: 'forward role, customer organization', principal: FORWARD_ROLE, org: CUSTOMER_ORGANIZATION, source: ORGANIZATIONS, expected: 'allowed' },
  { name: 'other role, no organization', principal: 'arn:aws:iam::333333333333:role/Admin', source: ORGANIZATIONS, expected: 'denied' },
  { name: 'other role, customer organization', principal: 'arn:aws:iam::444444444444:role/Admin', org: CUSTOMER_ORGANIZATION, source: ORGANIZATIONS, expected: 'allowed' },
  { name: 'other role, another organization', principal: 'arn:aws:iam::666666666666:role/Admin', org: 'o-someoneelse', source: ORGANIZATIONS, expected: 'denied' },
  // Someone putting the product's own notification events.
  { name: 'forward role, source org-onboarding', principal: FORWARD_ROLE, org: CUSTOMER_ORGANIZATION, source: 'org-onboarding', expected: 'denied' },
  { name: 'customer account, no organization', principal: `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/Admin`, source: ORGANIZATIONS, expected: 'allowed' },
  // A policy must not admit a request for lacking the key (ForAllValues: on an absent key is true).
  { name: 'forward role, no events:source', principal: FORWARD_ROLE, expected: 'denied' },
];

/** The caller's own identity policy: it may put events anywhere; the bus decides. */
const CALLER_POLICY = { Version: '2012-10-17', Statement: [{ Sid: 'CallerMayPutEvents', Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' }] };

/** Runs the command; returns the exit status (0 every case as expected, 1 otherwise). */
export async function commandAdmission({ template, cases = ADMISSION_CASES, out }) {
  const report = new Report(out);
  const bus = eventBusPolicy(template);
  for (const w of template.warnings.splice(0)) report.note(`${template.kind} template: ${w}`);
  for (const admissionCase of cases) {
    const outcome = await admissionOutcome(bus, template.account, admissionCase);
    for (const k of outcome.ignored ?? []) report.note(`admission ${admissionCase.name}: context key ${k} does not apply to events:PutEvents (iam-simulate ignored it)`);
    if (outcome.verdict !== admissionCase.expected) report.finding(unexpectedLine(admissionCase, outcome));
  }
  out(`iam admission: ${cases.length} cases, ${report.findings} unexpected`);
  return report.findings > 0 ? 1 : 0;
}

/** The request context of a case, as AWS would set it for that caller. */
export function caseContext({ principal, org, source }) {
  const context = { 'aws:PrincipalArn': [principal], 'aws:PrincipalAccount': [principal.split(':')[4]] };
  if (org) context['aws:PrincipalOrgID'] = [org];
  if (source) context['events:source'] = [source];
  return context;
}

/** { verdict: 'allowed' | 'denied' | 'error', why, ignored } of one case. */
export async function admissionOutcome(bus, busAccount, admissionCase) {
  const context = caseContext(admissionCase);
  const run = await runStrict({
    request: {
      principal: admissionCase.principal,
      action: 'events:PutEvents',
      resource: { resource: bus.arn, accountId: busAccount },
      contextVariables: Object.fromEntries(Object.entries(context).map(([k, v]) => [k, v[0]])),
    },
    identityPolicies: [{ name: 'caller', policy: CALLER_POLICY }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: bus.policy,
  });
  if (run.error) return { verdict: 'error', why: `simulation error: ${run.error}` };
  const resource = run.analyses.map((a) => a.analysis?.resourceAnalysis ?? {});
  const ignored = [...new Set(run.analyses.flatMap((a) => a.ignoredContextKeys ?? []))];
  if (run.overallResult === 'Allowed') {
    const sids = resource.flatMap((r) => r.allowStatements ?? []).map((s) => s.explain?.identifier ?? 'a statement');
    return { verdict: 'allowed', why: `allowed by ${[...new Set(sids)].join(', ')}`, ignored };
  }
  return { verdict: 'denied', why: denialReason(resource), ignored };
}

function denialReason(resourceAnalyses) {
  const denySids = resourceAnalyses.flatMap((r) => r.denyStatements ?? []).map((s) => s.explain?.identifier ?? 'a statement');
  if (denySids.length > 0) return `explicitly denied by ${[...new Set(denySids)].join(', ')}`;
  const failures = failedConditions(resourceAnalyses.flatMap((r) => r.unmatchedStatements ?? []));
  if (failures.length > 0) return `conditions fail: ${failures.join('; ')}`;
  return 'no statement of the bus policy names this principal';
}

function unexpectedLine(admissionCase, outcome) {
  const { org, source } = admissionCase;
  const shown = { ...(org ? { 'aws:PrincipalOrgID': [org] } : {}), ...(source ? { 'events:source': [source] } : {}) };
  const caller = `${admissionCase.principal}${contextText(shown)}`;
  return `ADMISSION ${admissionCase.name} (${caller}): expected ${admissionCase.expected}, got ${outcome.verdict} (${outcome.why})`;
}
