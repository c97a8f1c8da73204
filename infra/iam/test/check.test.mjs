// Tests of infra/iam/check.mjs (roles, calls, and the pieces in lib/) against the tiny
// templates and manifest in fixtures/ (admission: admission.test.mjs):
//   node --test infra/iam/test/
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { arnMatchesPattern, globsIntersect, lookup, render, Template } from '../check.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'fixtures');
const script = join(here, '..', 'check.mjs');
const HUB = join(fixtures, 'hub.json');
const SPOKE = join(fixtures, 'spoke.json');
const MANIFEST = join(fixtures, 'manifest.json');

const work = mkdtempSync(join(tmpdir(), 'iam-check-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

let files = 0;
function write(name, value) {
  const path = join(work, `${files++}-${name}`);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

function baseManifest() {
  return JSON.parse(readFileSync(MANIFEST, 'utf8'));
}

/** The manifest with one operation more (a copy of an existing one, or a new one). */
function withOperation(op) {
  const m = baseManifest();
  m.operations.push(op);
  return m;
}

function run(args) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr, lines: r.stdout.split('\n').filter(Boolean) };
}

function roles(manifest, ...extra) {
  const path = typeof manifest === 'string' ? manifest : write('manifest.json', manifest);
  return run(['roles', '--manifest', path, '--hub', HUB, '--spoke', SPOKE, ...extra]);
}

function calls(lines, { manifest = MANIFEST, extra = [] } = {}) {
  const path = write('calls.jsonl', `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
  const m = typeof manifest === 'string' ? manifest : write('manifest.json', manifest);
  return run(['calls', '--manifest', m, '--hub', HUB, '--spoke', SPOKE, '--calls', path, ...extra]);
}

const TABLE = 'org-onboarding-records'; // ${AWS::StackName}-${TableSuffix} with the defaults
const tableArn = (account, name = TABLE) => `arn:aws:dynamodb:us-east-1:${account}:table/${name}`;

function getItem(table, account = '123456789012', test = 'get') {
  return { test, function: 'worker', principal: 'worker', account, service: 'DynamoDB', operation: 'GetItem', request: { TableName: table, Key: {} }, response: {} };
}

const DELETE_ITEM = {
  principal: 'worker',
  function: 'worker',
  service: 'DynamoDB',
  operation: 'DeleteItem',
  grants: [
    {
      action: 'dynamodb:DeleteItem',
      resources: ['arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TableName}'],
      context: {},
      when: null,
      implied_by: null,
      samples: { 'request.TableName': ['${Table}'] },
      source: 'test',
    },
  ],
};

describe('roles: the template check', () => {
  test('roles that grant exactly what the manifest uses pass', () => {
    const r = roles(MANIFEST);
    assert.equal(r.status, 0, r.out + r.err);
    assert.match(r.out, /^iam roles: 2 principals, 6 operations, \d+ actions checked, 2 session refusals checked, 0 findings$/m);
  });

  test('a missing action is denied, naming the statement to add', () => {
    const r = roles(withOperation(DELETE_ITEM));
    assert.equal(r.status, 1);
    assert.ok(
      r.lines.includes(
        `DENIED worker DynamoDB:DeleteItem needs dynamodb:DeleteItem on ${tableArn('111111111111')}: add to WorkerRole: ` +
          '{"Effect":"Allow","Action":"dynamodb:DeleteItem","Resource":{"Fn::Sub":"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Table}"}}',
      ),
      r.out,
    );
    assert.match(r.out, /1 findings$/m);
  });

  test('Fn::If with a false condition removes the statement; true keeps it', () => {
    // EnableExtra defaults to "false": the Extra statement (DeleteItem) is gone.
    const m = withOperation(DELETE_ITEM);
    const without = roles(m, '--dump');
    assert.doesNotMatch(without.out, /"Sid": "Extra"/);
    assert.match(without.out, /^DENIED worker DynamoDB:DeleteItem/m);
    const withExtra = roles(m, '--param', 'EnableExtra=true', '--dump');
    assert.match(withExtra.out, /"Sid": "Extra"/);
    assert.doesNotMatch(withExtra.out, /^DENIED/m);
    assert.equal(withExtra.status, 0, withExtra.out);
  });

  test('a RolePolicy resource whose condition is false does not exist', () => {
    const m = withOperation({
      principal: 'spoke',
      function: 'preflight',
      service: 'KMS',
      operation: 'GetKeyPolicy',
      grants: [
        {
          action: 'kms:GetKeyPolicy',
          resources: ['${request.KeyId}'],
          context: {},
          samples: { 'request.KeyId': ['arn:${AWS::Partition}:kms:us-east-1:${AWS::AccountId}:key/1234abcd-12ab-34cd-56ef-1234567890ab'] },
          source: 'test',
        },
      ],
    });
    m.principals.spoke.sessions.preflight.Statement[0].Action.push('kms:GetKeyPolicy');
    const off = roles(m);
    assert.match(off.out, /^DENIED preflight KMS:GetKeyPolicy needs kms:GetKeyPolicy on arn:aws:kms:us-east-1:222222222222:key\/1234abcd/m);
    const on = roles(m, '--param', 'spoke:ReadKeys=true');
    assert.equal(on.status, 0, on.out);
  });

  test('an action granted that no operation uses is a finding', () => {
    const m = baseManifest();
    m.operations = m.operations.filter((op) => op.operation !== 'TransactWriteItems'); // the only PutItem
    const r = roles(m);
    assert.equal(r.status, 1);
    assert.deepEqual(
      r.lines.filter((l) => l.startsWith('granted but unused')),
      ['granted but unused: WorkerRole Items dynamodb:PutItem'],
    );
  });

  test('a Deny statement wins over an Allow', () => {
    const m = baseManifest();
    const decline = m.operations.find((op) => op.operation === 'DeclineHandshake');
    decline.grants[0].samples['response.Handshake.Arn'] = ['arn:${AWS::Partition}:organizations::${TargetManagementAccountId}:handshake/${TargetOrganizationId}/invite/h-exampl3handshake'];
    const r = roles(m);
    assert.equal(r.status, 1);
    assert.ok(
      r.lines.includes(
        'DENIED acceptor Organizations:DeclineHandshake needs organizations:DeclineHandshake on arn:aws:organizations::111111111111:handshake/o-exampleorg1/invite/h-exampl3handshake: explicitly denied by SpokeRole NeverDeclineTheTarget',
      ),
      r.out,
    );
    // The Deny statement itself is not "granted but unused".
    assert.doesNotMatch(r.out, /NeverDeclineTheTarget organizations:DeclineHandshake/);
  });

  test('mistakes in a role: unknown action, unsupported condition key, wrong resource, wildcard-only action on a resource, single-valued operator on a multivalued key', () => {
    const m = {
      principals: { sloppy: { template: 'hub', role: 'SloppyRole' } },
      operations: [
        {
          principal: 'sloppy',
          service: 'DynamoDB',
          operation: 'GetItem',
          grants: [{ action: 'dynamodb:GetItem', resources: ['arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Table}'], source: 'test' }],
        },
      ],
    };
    const r = roles(m);
    assert.equal(r.status, 1);
    const has = (line) => assert.ok(r.lines.includes(line), `missing: ${line}\n${r.out}`);
    has('unknown action: SloppyRole Typo dynamodb:GetItems: unknown action');
    has('unsupported condition key: SloppyRole WrongKey dynamodb:GetItem s3:prefix (StringEquals)');
    has(`resource matches no resource type: SloppyRole WrongResource arn:aws:events:us-east-1:111111111111:event-bus/bus (dynamodb:Query act on: index, table)`);
    has(`wildcard-only action on a resource: SloppyRole ListOnResource organizations:ListAccounts takes no resource type ("*" only), granted on ${tableArn('111111111111')}`);
    assert.match(r.out, /^multivalued condition key without ForAllValues:\/ForAnyValue: SloppyRole SingleOperator events:source \(StringEquals\)/m);
    assert.match(r.out, /^granted but unused: SloppyRole Everything dynamodb:Describe\* \(a wildcard: \d+ of the \d+ actions/m);
    // A global key is accepted (aws:PrincipalOrgID), and the operation's own GetItem is not unused.
    assert.doesNotMatch(r.out, /aws:PrincipalOrgID \(StringEquals\)/);
    assert.doesNotMatch(r.out, /granted but unused: SloppyRole WrongKey/);
  });

  test('a manifest action that does not exist is a finding', () => {
    const m = withOperation({ ...DELETE_ITEM, grants: [{ ...DELETE_ITEM.grants[0], action: 'dynamodb:DeleteItems' }] });
    const r = roles(m);
    assert.equal(r.status, 1);
    assert.match(r.out, /^unknown action in the manifest: worker DynamoDB:DeleteItem dynamodb:DeleteItems: unknown action$/m);
  });
});

describe('calls: recorded calls', () => {
  test('an allowed call passes, and identical evaluations run once', () => {
    const r = calls([getItem(TABLE, '123456789012', 'a'), getItem(TABLE, '123456789012', 'b')]);
    assert.equal(r.status, 0, r.out + r.err);
    assert.match(r.out, /^iam calls: 2 calls, 1 distinct evaluations, 0 denied, 0 not in manifest$/m);
  });

  test('a resource outside the granted ARN is denied, with the test name', () => {
    const r = calls([getItem('someone-elses-table', '123456789012', 'reads the wrong table')]);
    assert.equal(r.status, 1);
    assert.ok(
      r.lines.includes(
        `DENIED worker DynamoDB:GetItem needs dynamodb:GetItem on ${tableArn('123456789012', 'someone-elses-table')}: add to WorkerRole: ` +
          '{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":{"Fn::Sub":"arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/someone-elses-table"}} (test: reads the wrong table)',
      ),
      r.out,
    );
  });

  test("the principal's account is the call's, or --account-of's", () => {
    // Allowed only if the role (its table's ARN) resolves with the call's account, as the
    // manifest's ${AWS::AccountId} does.
    assert.equal(calls([getItem(TABLE, '123456789012')]).status, 0);
    const wrong = getItem('other', '999999999999');
    assert.match(calls([wrong]).out, /^DENIED worker DynamoDB:GetItem needs dynamodb:GetItem on arn:aws:dynamodb:us-east-1:999999999999:table\/other:/m);
    const mapped = calls([wrong], { extra: ['--account-of', 'worker=123456789012'] });
    assert.match(mapped.out, /^DENIED worker DynamoDB:GetItem needs dynamodb:GetItem on arn:aws:dynamodb:us-east-1:123456789012:table\/other:/m);
  });

  test("a call's stack (how the test deployed the hub) names its resources and parameters", () => {
    const stack = { params: { TableSuffix: 'ignored-as-named', NotInThisTemplate: 'x' }, names: { Table: 'test-table-7' } };
    assert.equal(calls([{ ...getItem('test-table-7'), stack }]).status, 0);
    // Without it, the role names the template's own table.
    assert.equal(calls([getItem('test-table-7')]).status, 1);
    const bad = calls([{ ...getItem(TABLE), stack: { names: { Table: 7 } } }]);
    assert.equal(bad.status, 2);
    assert.match(bad.err, /"stack" must be/);
  });

  test('`when` skips a grant when the request lacks the path', () => {
    const m = baseManifest();
    const transact = m.operations.find((op) => op.operation === 'TransactWriteItems');
    transact.grants.push({
      action: 'dynamodb:DeleteItem',
      resources: ['arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TransactItems[*].Delete.TableName}'],
      context: {},
      when: 'request.TransactItems[*].Delete',
      implied_by: null,
      samples: { 'request.TransactItems[*].Delete.TableName': ['${Table}'] },
      source: 'test',
    });
    const call = (items, test) => ({ test, function: 'worker', principal: 'worker', account: '123456789012', service: 'DynamoDB', operation: 'TransactWriteItems', request: { TransactItems: items }, response: {} });
    const putsOnly = calls([call([{ Put: { TableName: TABLE } }, { Put: { TableName: TABLE } }], 'puts')], { manifest: m });
    assert.equal(putsOnly.status, 0, putsOnly.out);
    const withDelete = calls([call([{ Put: { TableName: TABLE } }, { Delete: { TableName: TABLE } }], 'deletes')], { manifest: m });
    assert.equal(withDelete.status, 1);
    assert.match(withDelete.out, /^DENIED worker DynamoDB:TransactWriteItems needs dynamodb:DeleteItem on arn:aws:dynamodb:us-east-1:123456789012:table\/org-onboarding-records: add to WorkerRole: .* \(test: deletes\)$/m);
  });

  test('a multi-valued context key carries every value of the request', () => {
    const put = (sources) => ({
      test: 'events',
      function: 'worker',
      principal: 'worker',
      account: '123456789012',
      service: 'EventBridge',
      operation: 'PutEvents',
      request: { Entries: sources.map((Source) => ({ EventBusName: 'bus', Source })) },
      response: {},
    });
    assert.equal(calls([put(['app', 'app'])]).status, 0);
    const r = calls([put(['app', 'aws.organizations'])]);
    assert.equal(r.status, 1);
    assert.match(r.out, /^DENIED worker EventBridge:PutEvents needs events:PutEvents on arn:aws:events:us-east-1:123456789012:event-bus\/bus \[events:source=app,aws.organizations\]: WorkerRole grants it only under a condition that fails: Publish/m);
  });

  test('a Deny statement wins in a customer account', () => {
    const decline = (arn) => ({ test: 'decline', function: 'acceptor', principal: 'spoke', account: '210987654321', service: 'Organizations', operation: 'DeclineHandshake', request: { HandshakeId: 'h-1' }, response: { Handshake: { Arn: arn } } });
    assert.equal(calls([decline('arn:aws:organizations::333333333333:handshake/o-otherorg01/invite/h-1')]).status, 0);
    const r = calls([decline('arn:aws:organizations::111111111111:handshake/o-exampleorg1/invite/h-1')]);
    assert.equal(r.status, 1);
    assert.match(r.out, /: explicitly denied by SpokeRole NeverDeclineTheTarget \(test: decline\)$/m);
  });

  test('${AWS::AccountId} in the spoke is the customer account of the call', () => {
    const contact = (account) => ({ test: 'contact', function: 'preflight', principal: 'spoke', account, service: 'Account', operation: 'GetContactInformation', request: {}, response: {} });
    const r = calls([contact('210987654321'), contact('210987654322')]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /2 distinct evaluations/);
  });

  test('a call the manifest does not list is a finding; operations never called are notes', () => {
    const r = calls([{ ...getItem(TABLE), operation: 'Scan' }, getItem(TABLE)]);
    assert.equal(r.status, 1);
    assert.match(r.out, /^NOT IN MANIFEST worker DynamoDB:Scan \(principal worker; 1 call, first in test: get\)$/m);
    assert.match(r.out, /^note: never called: spoke \(preflight\) Account:GetContactInformation$/m);
    assert.match(r.out, /^iam calls: 2 calls, 1 distinct evaluations, 0 denied, 1 not in manifest$/m);
  });
});

describe('sessions: a role assumed with a session policy per function', () => {
  const simulateArgs = (session, ...requests) => [
    'simulate', '--manifest', MANIFEST, '--hub', HUB, '--spoke', SPOKE, '--principal', 'spoke', ...(session ? ['--session', session] : []),
    ...requests.flatMap((r) => ['--request', r]),
  ];
  const foreign = 'arn:aws:organizations::333333333333:handshake/o-otherorg01/invite/h-1';

  test('a session policy that lets a session do what only another session needs is a finding', () => {
    const m = baseManifest();
    m.principals.spoke.sessions.preflight.Statement[0].Action.push('organizations:*');
    const r = roles(m);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /^SESSION TOO WIDE spoke SpokeRole: preflight's session is allowed organizations:DeclineHandshake on arn:aws:organizations::333333333333:handshake\/o-otherorg01\/invite\/h-exampl3handshake, which only acceptor's Organizations:DeclineHandshake needs$/m);
  });

  test("an operation its function's session policy leaves out is denied, though the role allows it", () => {
    const m = baseManifest();
    m.principals.spoke.sessions.preflight.Statement[0].Action = ['account:GetAccountInformation'];
    const r = roles(m);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /^DENIED preflight Account:GetContactInformation needs account:GetContactInformation on arn:aws:account::222222222222:account: SpokeRole allows it, preflight's session policy does not/m);
  });

  test("a session's call of another function's operation is not in the manifest", () => {
    const decline = { test: 'decline', function: 'preflight', principal: 'spoke', account: '210987654321', service: 'Organizations', operation: 'DeclineHandshake', request: { HandshakeId: 'h-1' }, response: { Handshake: { Arn: foreign } } };
    const r = calls([decline]);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /^NOT IN MANIFEST preflight Organizations:DeclineHandshake \(principal spoke; 1 call, first in test: decline\)$/m);
    assert.equal(calls([{ ...decline, function: 'acceptor' }]).status, 0);
  });

  test('simulate: the role and a session policy together, as AWS intersects them', () => {
    const verdicts = (session) => JSON.parse(run(simulateArgs(session, `organizations:DeclineHandshake=${foreign}`)).out);
    assert.equal(verdicts('acceptor')[0].result, 'Allowed');
    assert.equal(verdicts('preflight')[0].result, 'ImplicitlyDenied');
    assert.equal(verdicts(undefined)[0].result, 'Allowed', 'the role alone allows it');
    const bad = run(simulateArgs('reconciler', `organizations:DeclineHandshake=${foreign}`));
    assert.equal(bad.status, 2);
    assert.match(bad.err, /no session policy of reconciler/);
  });
});

describe('inputs', () => {
  test('a malformed calls line is one clear line and exit 2', () => {
    const r = calls([getItem(TABLE), '{"test": "x", "principal": ']);
    assert.equal(r.status, 2);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^iam: calls .*:2: not valid JSON/);
  });

  test('a malformed manifest is one clear line and exit 2', () => {
    const r = roles({ principals: { worker: { template: 'hub', role: 'WorkerRole' } }, operations: [{ principal: 'worker', service: 'DynamoDB', operation: 'GetItem', grants: [{ resources: ['*'] }] }] });
    assert.equal(r.status, 2);
    assert.equal(r.err.trim(), `iam: manifest ${join(work, String(files - 1))}-manifest.json: operations[0] (DynamoDB:GetItem).grants[0]: "action" must be "service:Action"`);
    const missing = run(['roles', '--manifest', join(work, 'no-such.json'), '--hub', HUB]);
    assert.equal(missing.status, 2);
    assert.match(missing.err, /^iam: manifest .*no-such\.json: cannot read \(ENOENT\)\n$/);
  });

  test('an unknown --param is refused', () => {
    const r = roles(MANIFEST, '--param', 'NoSuchParameter=1');
    assert.equal(r.status, 2);
    assert.match(r.err, /--param NoSuchParameter: no template has that parameter/);
  });
});

describe('output', () => {
  test('the summary is the last line, ended by a newline', () => {
    assert.match(roles(MANIFEST).out, /(^|\n)iam roles: [^\n]*\n$/);
    assert.match(calls([getItem(TABLE)]).out, /(^|\n)iam calls: [^\n]*\n$/);
  });
});

describe('pieces', () => {
  test('ARN globs: a granted ARN matches a resource type pattern when both can name one ARN', () => {
    const table = 'arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}';
    assert.ok(arnMatchesPattern('arn:aws:dynamodb:us-east-1:111111111111:table/t', table));
    assert.ok(arnMatchesPattern('arn:aws:dynamodb:*:111111111111:table/*', table));
    assert.ok(!arnMatchesPattern('arn:aws:events:us-east-1:111111111111:event-bus/b', table));
    const role = 'arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}';
    assert.ok(arnMatchesPattern('arn:aws:iam::*:role/OrgOnboardingSpoke', role));
    assert.ok(!arnMatchesPattern('arn:aws:iam::*:role/OrgOnboardingSpoke', 'arn:${Partition}:iam::${Account}:user/${UserNameWithPath}'));
    // An ARN that lost a field (here the account) names no table.
    assert.ok(!arnMatchesPattern('arn:aws:dynamodb:us-east-1:table/t', table));
    const handshake = 'arn:${Partition}:organizations::${Account}:handshake/o-${OrganizationId}/${HandshakeType}/h-${HandshakeId}';
    assert.ok(arnMatchesPattern('arn:aws:organizations::111111111111:handshake/o-exampleorg1/invite/*', handshake));
    assert.ok(!arnMatchesPattern('arn:aws:organizations::111111111111:handshake/exampleorg1/invite/*', handshake));
    assert.ok(globsIntersect('a*c', 'ab?'));
    assert.ok(!globsIntersect('a*c', 'ab?d'));
    assert.ok(globsIntersect('*', ''));
  });

  test('request paths: [*] gives every element; the query form is read too', () => {
    assert.deepEqual(lookup({ Entries: [{ Source: 'a' }, { Source: 'b' }, {}] }, 'Entries[*].Source'), ['a', 'b']);
    assert.deepEqual(lookup({ 'Tags.member.1.Key': 'k1', 'Tags.member.2.Key': 'k2' }, 'Tags[*].Key'), ['k1', 'k2']);
    assert.deepEqual(lookup({ A: { B: 1 } }, 'A.C'), []);
  });

  test('placeholders: template values, the conditional form, samples', () => {
    const template = new Template('hub', JSON.parse(readFileSync(HUB, 'utf8')), { params: { TableSuffix: 'x' } });
    const env = (call, samples = {}) => ({ template, roleId: 'WorkerRole', call, samples });
    const q = 'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${request.TableName}${request.IndexName|/index/%}';
    assert.deepEqual(render(q, env({ request: { TableName: 't', IndexName: 'by_phase' } })).map((r) => r.value), ['arn:aws:dynamodb:us-east-1:111111111111:table/t/index/by_phase']);
    assert.deepEqual(render(q, env({ request: { TableName: 't' } })).map((r) => r.value), ['arn:aws:dynamodb:us-east-1:111111111111:table/t']);
    const sampled = render(q, env(null, { 'request.TableName': ['${Table}'], 'request.IndexName': ['', 'by_phase'] }));
    assert.deepEqual(sampled.map((r) => r.value), ['arn:aws:dynamodb:us-east-1:111111111111:table/org-onboarding-x', 'arn:aws:dynamodb:us-east-1:111111111111:table/org-onboarding-x/index/by_phase']);
    assert.equal(sampled[1].suggest, 'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Table}/index/by_phase');
    assert.deepEqual(render('${own:LogGroup}', env(null)).map((r) => r.value), ['/aws/lambda/org-onboarding/worker']);
    assert.deepEqual(render('${request.AccountId}', env(null)).map((r) => r.value), ['222222222222']);
    assert.throws(() => render('${NoSuchThing}', env(null)), /unknown placeholder/);
  });
});
