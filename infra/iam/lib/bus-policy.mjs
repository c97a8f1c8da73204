// The hub event bus's resource policy, as EventBridge assembles it: the statements of every
// AWS::Events::EventBusPolicy of the template whose Condition is true (StatementId as Sid),
// on one bus. Only the Statement form is modelled (not the older Action/Principal/Condition
// properties).

import { InputError } from './inputs.mjs';
import { busName } from './cfn-resources.mjs';
import { normalizePolicy } from './role-policies.mjs';

/** { name, arn, policy, statementIds } of the one bus the template's bus policies are on. */
export function eventBusPolicy(template) {
  const statements = busPolicyStatements(template);
  if (statements.length === 0) {
    throw new InputError(`${template.kind} template: no AWS::Events::EventBusPolicy (or none whose Condition is true)`);
  }
  const buses = [...new Set(statements.map((s) => s.bus))];
  if (buses.length > 1) throw new InputError(`${template.kind} template: bus policies on several buses (${buses.join(', ')}): one is modelled`);
  const [name] = buses;
  const policy = normalizePolicy({ Version: '2012-10-17', Statement: statements.map((s) => s.statement) });
  const arn = `arn:${template.partition}:events:${template.region}:${template.account}:event-bus/${name}`;
  return { name, arn, policy, statementIds: statements.map((s) => s.statement.Sid) };
}

function busPolicyStatements(template) {
  const statements = [];
  for (const [id, resource] of Object.entries(template.doc.Resources)) {
    if (resource?.Type !== 'AWS::Events::EventBusPolicy' || !template.exists(id)) continue;
    const props = template.resolve(resource.Properties ?? {});
    if (!props.Statement || typeof props.Statement !== 'object') {
      throw new InputError(`${template.kind} template: ${id}: only the Statement form of AWS::Events::EventBusPolicy is modelled`);
    }
    const bus = props.EventBusName === undefined ? 'default' : busName(props.EventBusName);
    statements.push({ bus, statement: { Sid: props.StatementId ?? id, ...props.Statement } });
  }
  return statements;
}
