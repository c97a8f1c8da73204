// Tests of `check.mjs admission` (lib/admission.mjs) against the bus policies of a tiny hub
// (fixtures/bus-hub.json, in the form the check expects) and variants of it:
//   node --test infra/iam/test/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ADMISSION_CASES, ADMISSION_PARAMS, admissionOutcome } from '../lib/admission.mjs';
import { eventBusPolicy } from '../lib/bus-policy.mjs';
import { Template } from '../lib/cfn.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, '..', 'check.mjs');
const BUS_HUB = join(here, 'fixtures', 'bus-hub.json');

const work = mkdtempSync(join(tmpdir(), 'iam-admission-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

function busHub() {
  return JSON.parse(readFileSync(BUS_HUB, 'utf8'));
}

/** The fixture with every bus statement's events:source condition rewritten by `edit(condition)`. */
function withSourceCondition(edit) {
  const doc = busHub();
  for (const resource of Object.values(doc.Resources)) {
    if (resource.Type === 'AWS::Events::EventBusPolicy') edit(resource.Properties.Statement.Condition);
  }
  const path = join(work, `hub-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

function admission(hub, ...extra) {
  const r = spawnSync(process.execPath, [script, 'admission', '--hub', hub, ...extra], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr, lines: r.stdout.split('\n').filter(Boolean) };
}

const caseNamed = (name) => ADMISSION_CASES.find((c) => c.name === name);

describe('admission: who may put events on the hub bus', () => {
  test('the bus policies in the expected form admit exactly the expected callers', () => {
    const r = admission(BUS_HUB);
    assert.equal(r.status, 0, r.out + r.err);
    assert.equal(r.out, `iam admission: ${ADMISSION_CASES.length} cases, 0 unexpected\n`);
  });

  test('a forward role of an account between organizations is allowed, by the forwarders statement', async () => {
    const template = new Template('hub', busHub(), { params: ADMISSION_PARAMS });
    const outcome = await admissionOutcome(eventBusPolicy(template), template.account, caseNamed('forward role, no organization'));
    assert.equal(outcome.verdict, 'allowed');
    assert.equal(outcome.why, 'allowed by Forwarders');
  });

  test('another role of an account in no organization is denied', async () => {
    const template = new Template('hub', busHub(), { params: ADMISSION_PARAMS });
    const outcome = await admissionOutcome(eventBusPolicy(template), template.account, caseNamed('other role, no organization'));
    assert.equal(outcome.verdict, 'denied');
    assert.match(outcome.why, /Forwarders \(ArnLike aws:PrincipalArn: the value does not match\)/);
  });

  test('StringEquals on events:source (multivalued) admits nobody: an expected admission denied fails the command', () => {
    const hub = withSourceCondition((condition) => {
      condition.StringEquals = { ...condition.StringEquals, ...condition['ForAllValues:StringEquals'] };
      delete condition['ForAllValues:StringEquals'];
      delete condition.Null;
    });
    const r = admission(hub);
    assert.equal(r.status, 1);
    assert.ok(
      r.lines.some(
        (l) =>
          l.startsWith('ADMISSION forward role, no organization (arn:aws:iam::333333333333:role/org-onboarding-forward [events:source=aws.organizations]): expected allowed, got denied (') &&
          l.includes('Forwarders (StringEquals events:source: a multivalued key needs ForAllValues:/ForAnyValue:)'),
      ),
      r.out,
    );
    assert.match(r.out, /^iam admission: \d+ cases, 4 unexpected\n$/m);
  });

  test('ForAllValues: without Null admits a request that has no events:source', () => {
    const hub = withSourceCondition((condition) => delete condition.Null);
    const r = admission(hub);
    assert.equal(r.status, 1);
    assert.deepEqual(r.lines.filter((l) => l.startsWith('ADMISSION')), [
      'ADMISSION forward role, no events:source (arn:aws:iam::333333333333:role/org-onboarding-forward): expected denied, got allowed (allowed by Forwarders)',
    ]);
  });

  test('--param overrides the cases\' parameters: no customer accounts, the customer account is denied', () => {
    const r = admission(BUS_HUB, '--param', 'CustomerAccountIds=');
    assert.equal(r.status, 1);
    assert.match(r.out, /^ADMISSION customer account, no organization \(arn:aws:iam::555555555555:role\/Admin \[events:source=aws\.organizations\]\): expected allowed, got denied/m);
  });

  test('a hub without bus policies is one clear line and exit 2', () => {
    const r = admission(join(here, 'fixtures', 'hub.json'));
    assert.equal(r.status, 2);
    assert.equal(r.err, 'iam: hub template: no AWS::Events::EventBusPolicy (or none whose Condition is true)\n');
  });
});
