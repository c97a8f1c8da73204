// The hub and spoke templates as the commands use them: one resolution (a Template) per
// template, account and recorded stack, and a manifest principal's role in it.

import { InputError } from './inputs.mjs';
import { Template } from './cfn.mjs';

/** Loads the two templates (as JSON) and keeps one resolution per template and account. */
export class Templates {
  constructor({ hub, spoke, params, names, region, stackName }) {
    this.docs = { hub, spoke };
    this.params = params;
    this.names = names;
    this.region = region;
    this.stackName = stackName;
    this.cache = new Map();
    for (const [kind, doc] of Object.entries(this.docs)) if (doc) this.get(kind); // validates parameters early
    for (const name of Object.keys(params.any)) {
      const known = Object.values(this.docs).some((doc) => doc && Object.hasOwn(doc.Parameters ?? {}, name));
      if (!known) throw new InputError(`--param ${name}: no template has that parameter`);
    }
  }

  /**
   * The template resolved for an account; a recorded call's `stack` ({"params": {...},
   * "names": {...}}: how the test deployed the hub) overrides --param and --name for that call
   * (its params apply where the template has that parameter).
   */
  get(kind, account, stack) {
    const doc = this.docs[kind];
    if (!doc) throw new InputError(`the manifest needs the ${kind} template: give --${kind}`);
    const key = `${kind}/${account ?? ''}${stack ? `/${JSON.stringify(stack)}` : ''}`;
    if (!this.cache.has(key)) this.cache.set(key, this.resolveFor(kind, doc, key, account, stack));
    return this.cache.get(key);
  }

  resolveFor(kind, doc, key, account, stack) {
    const params = { ...this.params.any, ...this.params[kind] };
    for (const [name, value] of Object.entries(stack?.params ?? {})) {
      if (Object.hasOwn(doc.Parameters ?? {}, name)) params[name] = value;
    }
    const names = { ...this.names, ...(stack?.names ?? {}) };
    const region = params['AWS::Region'] ?? this.region;
    const stackName = params['AWS::StackName'] ?? this.stackName;
    delete params['AWS::Region'];
    delete params['AWS::StackName'];
    const template = new Template(kind, doc, { params, names, account, region, stackName });
    template.key = key;
    return template;
  }
}

/**
 * A manifest principal's role as `fn`'s session uses it: with `fn`'s session policy (the
 * manifest's `sessions`), whose intersection with the role is what AWS allows the session; the
 * role itself when the principal has no session policies. Undefined when `role` is.
 */
export function sessionRole(manifest, principal, role, fn) {
  const session = manifest.principals[principal].sessions?.[fn];
  if (!role || !session) return role;
  return { ...role, session, sessionOf: fn };
}

/** A manifest principal's role, resolved: { roleId, name, arn, policies, template, label }, or undefined (a finding). */
export function principalRole(manifest, templates, principal, account, report, stack) {
  const p = manifest.principals[principal];
  const template = templates.get(p.template, account, stack);
  const role = template.rolePolicies(p.role);
  if (!role) {
    report.finding(`role not found: ${principal}: the ${p.template} template has no AWS::IAM::Role ${p.role} (or its Condition is false)`);
    return undefined;
  }
  for (const note of role.notes) report.note(note);
  return { ...role, template, label: p.role };
}
