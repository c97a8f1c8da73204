// The manifest's placeholders rendered to values: ${AWS::Partition}, ${Param}, ${LogicalId},
// ${LogicalId.Attr}, ${own:LogGroup}, ${request.PATH}, ${request.PATH|/prefix/%},
// ${request.PATH|parent} (a root's or an OU's id as the rest of its ARN),
// ${response.PATH}, from the stack (a Template), a recorded call's request and response, the
// grant's samples, or default samples. Each value comes with how a CloudFormation Fn::Sub
// would name it, for the statement a denial suggests.

import { InputError } from './inputs.mjs';
import { SPOKE_ACCOUNT } from './defaults.mjs';
import { NO_VALUE, stringOf } from './cfn.mjs';

/** Values at a path of a JSON value; `[*]` is every element, `[n]` one. */
export function lookup(root, path) {
  let current = [root];
  for (const token of path.split('.')) {
    const m = /^([^[\]]*)((?:\[(?:\*|\d+)\])*)$/.exec(token);
    if (!m) return [];
    current = current.flatMap((value) => valuesAtToken(value, m[1], m[2]));
  }
  if (current.length === 0 && root && typeof root === 'object' && path.includes('[')) return lookupFlat(root, path);
  return current;
}

function valuesAtToken(value, field, indexes) {
  let items = [field === '' ? value : value?.[field]];
  for (const index of indexes.match(/\[(\*|\d+)\]/g) ?? []) {
    const inner = index.slice(1, -1);
    items = items.flatMap((item) => (Array.isArray(item) ? (inner === '*' ? item : [item[Number(inner)]]) : []));
  }
  return items.filter((v) => v !== undefined && v !== null);
}

/** The query protocols' flat form: Tags[*].Key as Tags.member.1.Key or Tags.1.Key. */
function lookupFlat(root, path) {
  const pattern = path
    .split(/(\[\*\]|\[\d+\])/)
    .map((part) => {
      if (part === '[*]') return '\\.(?:member\\.)?\\d+';
      if (/^\[\d+\]$/.test(part)) return `\\.(?:member\\.)?${Number(part.slice(1, -1)) + 1}`;
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const re = new RegExp(`^${pattern}$`);
  return Object.entries(root)
    .filter(([k, v]) => re.test(k) && v !== null && v !== undefined)
    .map(([, v]) => v);
}

function scalar(v) {
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The value of a request field where no call gives one and the manifest has no sample. */
function defaultSample(path, template) {
  const field = path.split('.').pop().replace(/\[.*$/, '');
  if (/AccountId$/.test(field) || field === 'ChildId') return { value: SPOKE_ACCOUNT, suggest: '*' };
  if (field === 'HandshakeId') return { value: 'h-exampl3handshake', suggest: '*' };
  if (/OrganizationalUnitId$|^DestinationParentId$/.test(field)) return { value: 'ou-ab12-cd34ef56', suggest: '*' };
  if (/RootId$|ParentId$/.test(field)) return { value: 'r-ab12', suggest: '*' };
  if (field === 'RoleArn' && Object.hasOwn(template.params, 'SpokeRoleName')) {
    return {
      value: `arn:${template.partition}:iam::${SPOKE_ACCOUNT}:role/${template.params.SpokeRoleName}`,
      suggest: 'arn:${AWS::Partition}:iam::*:role/${SpokeRoleName}',
    };
  }
  return { value: '*', suggest: '*' };
}

/**
 * Renders a manifest string to every value it stands for: a list of { value, suggest }, where
 * suggest is the same string for a CloudFormation Fn::Sub (template references kept, request
 * fields as "*").
 * env: { template, roleId, call (null in the template check), samples, notes (Set) }
 */
export function render(text, env) {
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(/\$\{([^}]*)\}/g)) {
    if (m.index > last) parts.push([literal(text.slice(last, m.index))]);
    parts.push(placeholder(m[1], env));
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push([literal(text.slice(last))]);
  let out = [literal('')];
  for (const options of parts) {
    out = out.flatMap((prefix) => options.map((o) => ({ value: prefix.value + o.value, suggest: prefix.suggest + o.suggest })));
  }
  const seen = new Set();
  return out.filter((o) => !seen.has(o.value) && seen.add(o.value));
}

function literal(text) {
  return { value: text, suggest: text };
}

function placeholder(inner, env) {
  const { template } = env;
  const field = /^(request|response)\.([^|]+)(?:\|(.*))?$/.exec(inner);
  if (field) return fieldPlaceholder(field[1], field[2], field[3], env);
  if (inner.startsWith('AWS::')) {
    const v = template.pseudo(inner);
    if (v === undefined || v === NO_VALUE) throw new InputError(`unknown placeholder \${${inner}}`);
    return [{ value: stringOf(v), suggest: `\${${inner}}` }];
  }
  if (inner.startsWith('own:')) {
    const id = `${env.roleId.replace(/Role$/, '')}${inner.slice(4)}`;
    if (!template.doc.Resources[id]) throw new InputError(`\${${inner}}: the template has no ${id}`);
    return [resourceName(template, id)];
  }
  if (Object.hasOwn(template.params, inner)) return [{ value: stringOf(template.params[inner]), suggest: `\${${inner}}` }];
  if (template.doc.Resources[inner]) return [resourceName(template, inner)];
  if (inner.includes('.')) {
    const dot = inner.indexOf('.');
    const id = inner.slice(0, dot);
    if (template.doc.Resources[id]) return [{ value: stringOf(template.getAtt(id, inner.slice(dot + 1))), suggest: `\${${inner}}` }];
  }
  throw new InputError(`unknown placeholder \${${inner}} (no such parameter or resource in the ${template.kind} template)`);
}

/** A resource's physical name, and how a Fn::Sub names it (Ref of a queue is its URL). */
function resourceName(template, id) {
  const type = template.doc.Resources[id]?.Type;
  const suggest = type === 'AWS::SQS::Queue' ? `\${${id}.QueueName}` : type === 'AWS::SNS::Topic' ? `\${${id}.TopicName}` : `\${${id}}`;
  return { value: template.physicalName(id), suggest };
}

/** ${request.PATH} or ${response.PATH} (with an optional |format): the call's values, else samples. */
function fieldPlaceholder(kind, path, format, env) {
  const key = `${kind}.${path}`;
  const shape = (values) => values.map((v) => formatted(v, format, env));
  if (env.call) {
    const body = kind === 'request' ? env.call.request : env.call.response;
    const found = body ? lookup(body, path) : [];
    if (found.length > 0) return shape(found.map((v) => ({ value: scalar(v), suggest: callSuggest(key, scalar(v), env) })));
    if (format !== undefined && kind === 'request') return [literal('')];
    env.notes?.add(`${kind} has no ${path}: used the manifest's sample value`);
  }
  const samples = env.samples?.[key];
  if (samples && samples.length > 0) return shape(samples.flatMap((s) => renderSample(s, env)));
  return shape([defaultSample(path, env.template)]);
}

/** The kind of an Organizations id, as its ARN names it: a root, an OU or an account. */
function organizationsKind(id) {
  if (id.startsWith('r-')) return 'root';
  if (id.startsWith('ou-')) return 'ou';
  return 'account';
}

/**
 * A value put into a |format ("%" is the value); an absent value gives "" (the field is left
 * out). The format `parent` makes a parent's id (a root or an OU) into the rest of its ARN in
 * the target organization: `root/o-…/r-…` or `ou/o-…/ou-…`.
 */
function formatted(v, format, env) {
  if (format === 'parent') {
    const org = stringOf(env.template.params.TargetOrganizationId);
    const kind = organizationsKind(v.value);
    return { value: `${kind}/${org}/${v.value}`, suggest: `${kind}/\${TargetOrganizationId}/${v.value === '*' ? '*' : `${kind === 'root' ? 'r' : 'ou'}-*`}` };
  }
  if (format === undefined) return v;
  if (v.absent) return literal('');
  return { value: format.replace('%', v.value), suggest: format.replace('%', v.value === '*' ? '*' : v.value) };
}

/** A grant's sample: "" means the field is absent; a sample with placeholders renders with the stack. */
function renderSample(sample, env) {
  if (sample === '') return [{ absent: true, value: '', suggest: '' }];
  return render(sample, { ...env, call: null }).map((r) => ({ value: r.value, suggest: sample.includes('${') ? r.suggest : '*' }));
}

/**
 * How a suggested statement names a recorded field: as the sample's template reference when the
 * value is the sample's (a table's name: ${RecordTable}), "*" for fields whose samples are plain
 * ids (an account id), else the recorded value.
 */
function callSuggest(key, value, env) {
  const samples = env.samples?.[key] ?? [];
  const templated = samples.filter((s) => s.includes('${'));
  for (const s of templated) {
    for (const r of render(s, { ...env, call: null })) if (r.value === value) return r.suggest;
  }
  return templated.length === 0 ? '*' : value;
}

/**
 * Every evaluation a grant stands for: one per rendered resource, with the rendered context
 * (a key with several values is multi-valued, as AWS sets it).
 */
export function grantEvaluations(grant, env) {
  const context = {};
  for (const [key, text] of Object.entries(grant.context ?? {})) {
    const values = render(String(text), env).map((r) => r.value).filter((v) => v !== '');
    if (values.length > 0) context[key] = values;
  }
  return grant.resources.flatMap((text) => render(text, env)).map((r) => ({ resource: r.value, suggest: r.suggest, context }));
}

/** A grant's evaluations; a placeholder the stack cannot fill is a finding (and none are run). */
export function evaluationsOrFinding(grant, op, env, report) {
  try {
    return grantEvaluations(grant, env);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    report.finding(`manifest: ${op.function} ${op.service}:${op.operation} ${grant.action}: ${error.message}`);
    return [];
  }
}
