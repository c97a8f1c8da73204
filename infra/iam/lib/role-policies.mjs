// A role's identity policies in a template: its inline Policies, and every
// AWS::IAM::RolePolicy, AWS::IAM::Policy or AWS::IAM::ManagedPolicy of the template attached to
// it, once conditions are applied; documents normalized as AWS reads them. Managed policies
// from outside the template (AWS managed) are not evaluated: they come back as notes.

import { toArray } from './inputs.mjs';

const ATTACHABLE = ['AWS::IAM::RolePolicy', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'];

/** { roleId, name, arn, policies: [{ name, from, document }], notes }, or undefined if no such role exists. */
export function rolePolicies(template, roleId) {
  const role = template.resource(roleId);
  if (!role || role.Type !== 'AWS::IAM::Role') return undefined;
  const name = template.physicalName(roleId);
  const props = template.resolve(role.Properties ?? {});
  const policies = [];
  for (const [i, p] of (props.Policies ?? []).entries()) {
    policies.push({ name: p.PolicyName ?? `${roleId}.Policies[${i}]`, from: `${roleId}.Policies`, document: normalizePolicy(p.PolicyDocument) });
  }
  const managedArns = new Set((props.ManagedPolicyArns ?? []).map(String));
  for (const [id, resource] of Object.entries(template.doc.Resources)) {
    if (!ATTACHABLE.includes(resource?.Type) || !template.exists(id)) continue;
    if (!isAttached(template, id, resource, name, managedArns)) continue;
    const resolved = template.resolve(resource.Properties ?? {});
    policies.push({ name: resolved.PolicyName ?? resolved.ManagedPolicyName ?? id, from: id, document: normalizePolicy(resolved.PolicyDocument) });
  }
  const notes = [...managedArns].map((arn) => `${roleId}: managed policy ${arn} is not in the template, not evaluated`);
  return { roleId, name, arn: template.principalArn(roleId), policies, notes };
}

/** Whether a policy resource is attached to the role; a managed policy it names leaves managedArns. */
function isAttached(template, id, resource, roleName, managedArns) {
  const rp = resource.Properties ?? {};
  let attached = false;
  if (resource.Type === 'AWS::IAM::RolePolicy') attached = template.resolve(rp.RoleName) === roleName;
  else attached = [].concat(template.resolve(rp.Roles ?? [])).includes(roleName);
  if (resource.Type === 'AWS::IAM::ManagedPolicy' && managedArns.has(template.arn(id))) {
    attached = true;
    managedArns.delete(template.arn(id));
  }
  return attached;
}

/** Statement as a list; condition values as strings (as AWS reads them). */
export function normalizePolicy(doc) {
  const document = doc && typeof doc === 'object' ? structuredClone(doc) : { Statement: [] };
  document.Statement = toArray(document.Statement);
  for (const statement of document.Statement) {
    if (!statement.Condition) continue;
    for (const [op, block] of Object.entries(statement.Condition)) {
      for (const [key, value] of Object.entries(block ?? {})) {
        block[key] = Array.isArray(value) ? value.map(String) : String(value);
      }
      statement.Condition[op] = block;
    }
  }
  return document;
}
