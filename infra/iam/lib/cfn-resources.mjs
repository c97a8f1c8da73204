// A template's resources as the checker names them: the physical name (a --name, else the
// name property, else the logical id), the ARN by resource type, and the values of Ref and
// Fn::GetAtt. Each function takes the Template (cfn.mjs) to resolve properties with.

import { InputError } from './inputs.mjs';

/** Properties that carry a resource's physical name. */
const NAME_PROPERTIES = [
  'Name',
  'TableName',
  'RoleName',
  'QueueName',
  'LogGroupName',
  'TopicName',
  'FunctionName',
  'BucketName',
  'ManagedPolicyName',
];

/** The physical name: a --name override, else the name property, else the logical id. */
export function physicalName(template, id) {
  if (Object.hasOwn(template.names, id)) return template.names[id];
  const props = template.doc.Resources[id]?.Properties ?? {};
  for (const key of NAME_PROPERTIES) {
    if (props[key] === undefined || typeof props[key] === 'boolean') continue;
    const guard = `name:${id}`;
    if (template.resolving.has(guard)) break;
    template.resolving.add(guard);
    try {
      const value = template.resolve(props[key]);
      if (typeof value === 'string' && value !== '') return value;
    } finally {
      template.resolving.delete(guard);
    }
  }
  return id;
}

/** The name of the bus a rule is on: "default", or the name of its EventBusName (a name or an ARN). */
export function eventBusOfRule(template, id) {
  const bus = template.doc.Resources[id]?.Properties?.EventBusName;
  if (bus === undefined) return 'default';
  return busName(template.resolve(bus)) ?? 'default';
}

/** An event bus's name from its name or ARN; undefined if it is not a string. */
export function busName(value) {
  return typeof value === 'string' ? value.replace(/^arn:[^:]*:events:[^:]*:[^:]*:event-bus\//, '') : undefined;
}

export function resourceArn(template, id) {
  const type = template.doc.Resources[id]?.Type;
  const name = physicalName(template, id);
  const { partition: p, region: r, account: a } = template;
  switch (type) {
    case 'AWS::DynamoDB::Table':
      return `arn:${p}:dynamodb:${r}:${a}:table/${name}`;
    case 'AWS::Events::EventBus':
      return `arn:${p}:events:${r}:${a}:event-bus/${name}`;
    case 'AWS::Events::Rule': {
      // Rules on the default bus have no bus in their ARN; those on another bus do.
      const bus = eventBusOfRule(template, id);
      return bus === 'default' ? `arn:${p}:events:${r}:${a}:rule/${name}` : `arn:${p}:events:${r}:${a}:rule/${bus}/${name}`;
    }
    case 'AWS::Logs::LogGroup':
      return `arn:${p}:logs:${r}:${a}:log-group:${name}:*`;
    case 'AWS::SQS::Queue':
      return `arn:${p}:sqs:${r}:${a}:${name}`;
    case 'AWS::IAM::Role':
      return `arn:${p}:iam::${a}:role${rolePath(template, id)}${name}`;
    case 'AWS::IAM::ManagedPolicy':
      return `arn:${p}:iam::${a}:policy/${name}`;
    case 'AWS::SNS::Topic':
      return `arn:${p}:sns:${r}:${a}:${name}`;
    case 'AWS::KMS::Key':
      return `arn:${p}:kms:${r}:${a}:key/${name}`;
    case 'AWS::Lambda::Function':
      return `arn:${p}:lambda:${r}:${a}:function:${name}`;
    case 'AWS::S3::Bucket':
      return `arn:${p}:s3:::${name}`;
    default: {
      const service = String(type ?? 'unknown').split('::')[1]?.toLowerCase() ?? 'unknown';
      return `arn:${p}:${service}:${r}:${a}:${name}`;
    }
  }
}

/** A role's Path, "/" by default, always ending in "/". */
export function rolePath(template, id) {
  const raw = template.doc.Resources[id]?.Properties?.Path;
  if (raw === undefined) return '/';
  const path = String(template.resolve(raw));
  return path.endsWith('/') ? path : `${path}/`;
}

/** What Ref of a resource gives: a queue's URL, a topic's or managed policy's ARN, else the name. */
export function refValue(template, id) {
  const type = template.doc.Resources[id]?.Type;
  const name = physicalName(template, id);
  switch (type) {
    case 'AWS::SQS::Queue':
      return `https://sqs.${template.region}.amazonaws.com/${template.account}/${name}`;
    case 'AWS::SNS::Topic':
    case 'AWS::IAM::ManagedPolicy':
      return resourceArn(template, id);
    default:
      return name;
  }
}

export function getAttValue(template, id, attr) {
  if (!template.doc.Resources[id]) throw new InputError(`${template.kind} template: Fn::GetAtt of unknown resource ${id}`);
  if (!template.exists(id)) template.warnings.push(`${id}.${attr}: the resource's condition is false`);
  const name = physicalName(template, id);
  switch (attr) {
    case 'Arn':
    case 'TopicArn':
      return resourceArn(template, id);
    case 'QueueName':
    case 'TopicName':
    case 'Name':
    case 'LogGroupName':
    case 'TableName':
    case 'KeyId':
      return name;
    case 'QueueUrl':
      return `https://sqs.${template.region}.amazonaws.com/${template.account}/${name}`;
    case 'StreamArn':
      return `${resourceArn(template, id)}/stream/1970-01-01T00:00:00.000`;
    case 'RoleId':
      return `AROA${id.toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 17)}`;
    default:
      template.warnings.push(`${id}.${attr}: attribute not modelled`);
      return `${id}.${attr}`;
  }
}
