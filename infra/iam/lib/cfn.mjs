// CloudFormation, offline: a template's parameters (with the checker's defaults), its
// conditions, and the intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Join, ...),
// resolved for one account, region and stack name. Names and ARNs of resources are in
// cfn-resources.mjs, a role's policies in role-policies.mjs; Template exposes both.

import { InputError } from './inputs.mjs';
import { HUB_ACCOUNT, OPT_INS, REQUIRED_SAMPLES, SPOKE_ACCOUNT, STACK_NAME } from './defaults.mjs';
import { eventBusOfRule, getAttValue, physicalName, refValue, resourceArn, rolePath } from './cfn-resources.mjs';
import { rolePolicies } from './role-policies.mjs';

/** AWS::NoValue: removes the key or list element it is the value of. */
export const NO_VALUE = Symbol('AWS::NoValue');

export class Template {
  /**
   * @param {string} kind 'hub' or 'spoke'
   * @param {object} doc the template as JSON (intrinsics in long form)
   * @param {object} options params (name -> value, from --param), names (logical id ->
   *   physical name, from --name), account, region, partition, stackName
   */
  constructor(kind, doc, options = {}) {
    if (!doc || typeof doc !== 'object' || typeof doc.Resources !== 'object') {
      throw new InputError(`${kind} template: no Resources (is it a CloudFormation template as JSON?)`);
    }
    this.kind = kind;
    this.doc = doc;
    this.account = options.account ?? (kind === 'spoke' ? SPOKE_ACCOUNT : HUB_ACCOUNT);
    this.region = options.region ?? 'us-east-1';
    this.partition = options.partition ?? 'aws';
    this.stackName = options.stackName ?? STACK_NAME;
    this.names = options.names ?? {};
    this.warnings = [];
    this.params = {};
    for (const [name, decl] of Object.entries(doc.Parameters ?? {})) {
      this.params[name] = typedValue(decl, parameterValue(kind, name, decl, options.params ?? {}));
    }
    this.conditionCache = new Map();
    this.resolving = new Set();
  }

  pseudo(name) {
    switch (name) {
      case 'AWS::Partition':
        return this.partition;
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return `arn:${this.partition}:cloudformation:${this.region}:${this.account}:stack/${this.stackName}/00000000-0000-0000-0000-000000000000`;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        return undefined;
    }
  }

  condition(name) {
    if (this.conditionCache.has(name)) return this.conditionCache.get(name);
    const expr = this.doc.Conditions?.[name];
    if (expr === undefined) throw new InputError(`${this.kind} template: unknown condition ${name}`);
    if (this.resolving.has(`condition:${name}`)) throw new InputError(`${this.kind} template: condition ${name} refers to itself`);
    this.resolving.add(`condition:${name}`);
    const value = this.evalCondition(expr);
    this.resolving.delete(`condition:${name}`);
    this.conditionCache.set(name, value);
    return value;
  }

  evalCondition(expr) {
    if (typeof expr === 'boolean') return expr;
    if (expr && typeof expr === 'object' && !Array.isArray(expr)) {
      const [key] = Object.keys(expr);
      const arg = expr[key];
      switch (key) {
        case 'Condition':
          return this.condition(arg);
        case 'Fn::Equals': {
          const [a, b] = arg.map((v) => this.resolve(v));
          return canonical(a) === canonical(b);
        }
        case 'Fn::Not':
          return !this.evalCondition(arg[0]);
        case 'Fn::And':
          return arg.every((c) => this.evalCondition(c));
        case 'Fn::Or':
          return arg.some((c) => this.evalCondition(c));
        default:
          break;
      }
    }
    throw new InputError(`${this.kind} template: cannot evaluate condition ${JSON.stringify(expr)}`);
  }

  /** Whether a resource exists once conditions are applied. */
  exists(id) {
    const resource = this.doc.Resources[id];
    if (!resource) return false;
    return resource.Condition === undefined || this.condition(resource.Condition);
  }

  resource(id) {
    if (!this.exists(id)) return undefined;
    return this.doc.Resources[id];
  }

  /** The physical name: a --name override, else the name property, else the logical id. */
  physicalName(id) {
    return physicalName(this, id);
  }

  eventBusOfRule(id) {
    return eventBusOfRule(this, id);
  }

  arn(id) {
    return resourceArn(this, id);
  }

  rolePath(id) {
    return rolePath(this, id);
  }

  refResource(id) {
    return refValue(this, id);
  }

  getAtt(id, attr) {
    return getAttValue(this, id, attr);
  }

  ref(name) {
    const pseudo = this.pseudo(name);
    if (pseudo !== undefined) return pseudo;
    if (Object.hasOwn(this.params, name)) return this.params[name];
    if (this.doc.Resources[name]) {
      if (!this.exists(name)) this.warnings.push(`Ref ${name}: the resource's condition is false`);
      return this.refResource(name);
    }
    throw new InputError(`${this.kind} template: Ref to unknown ${name}`);
  }

  sub(text, vars = {}) {
    return String(text).replace(/\$\{([^}]*)\}/g, (whole, inner) => {
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      if (Object.hasOwn(vars, inner)) return stringOf(this.resolve(vars[inner]));
      if (inner.includes('.') && !inner.startsWith('AWS::')) {
        const dot = inner.indexOf('.');
        return stringOf(this.getAtt(inner.slice(0, dot), inner.slice(dot + 1)));
      }
      return stringOf(this.ref(inner));
    });
  }

  /** Resolves intrinsic functions in a value; NO_VALUE removes a key or a list element. */
  resolve(value) {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return this.resolveIntrinsic(keys[0], value[keys[0]], value);
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = this.resolve(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  }

  resolveIntrinsic(name, arg, value) {
    switch (name) {
      case 'Ref':
        return this.ref(arg);
      case 'Fn::GetAtt': {
        const [id, ...rest] = Array.isArray(arg) ? arg : String(arg).split('.');
        return this.getAtt(this.resolve(id), rest.map((r) => this.resolve(r)).join('.'));
      }
      case 'Fn::Sub':
        return Array.isArray(arg) ? this.sub(arg[0], arg[1] ?? {}) : this.sub(arg);
      case 'Fn::If': {
        const [condition, yes, no] = arg;
        return this.resolve(this.condition(condition) ? yes : no);
      }
      case 'Fn::Join': {
        const [delimiter, list] = arg;
        const items = this.resolve(list);
        if (!Array.isArray(items)) throw new InputError(`${this.kind} template: Fn::Join of a non-list`);
        return items.map(stringOf).join(delimiter);
      }
      case 'Fn::Split': {
        const [delimiter, text] = arg;
        return stringOf(this.resolve(text)).split(delimiter);
      }
      case 'Fn::Select':
        return this.select(arg);
      case 'Fn::FindInMap':
        return this.findInMap(arg);
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((z) => `${this.region}${z}`);
      case 'Fn::Base64':
        return this.resolve(arg);
      case 'Fn::ToJsonString':
        return JSON.stringify(this.resolve(arg));
      case 'Fn::Equals':
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or':
        return this.evalCondition(value);
      default:
        this.warnings.push(`${name}: not modelled, left as is`);
        return `{${name}}`;
    }
  }

  select([index, list]) {
    const items = this.resolve(list);
    const i = Number(this.resolve(index));
    if (!Array.isArray(items) || !(i >= 0 && i < items.length)) {
      throw new InputError(`${this.kind} template: Fn::Select index ${i} out of range`);
    }
    return items[i];
  }

  findInMap(arg) {
    const [map, top, second] = arg.map((v) => this.resolve(v));
    const found = this.doc.Mappings?.[map]?.[top]?.[second];
    if (found === undefined) throw new InputError(`${this.kind} template: Fn::FindInMap ${map}/${top}/${second} not found`);
    return found;
  }

  /** The ARN of the role as a principal. */
  principalArn(roleId) {
    return `arn:${this.partition}:iam::${this.account}:role${this.rolePath(roleId)}${this.physicalName(roleId)}`;
  }

  /** A role's identity policies (role-policies.mjs), or undefined if there is no such role. */
  rolePolicies(roleId) {
    return rolePolicies(this, roleId);
  }
}

/** A parameter's value: --param, else the spoke's opt-in, else its Default, else a sample. */
function parameterValue(kind, name, decl, given) {
  if (Object.hasOwn(given, name)) return given[name];
  if (Object.hasOwn(OPT_INS[kind] ?? {}, name)) return OPT_INS[kind][name];
  if (decl && Object.hasOwn(decl, 'Default')) return decl.Default;
  if (Object.hasOwn(REQUIRED_SAMPLES[kind] ?? {}, name)) return REQUIRED_SAMPLES[kind][name];
  throw new InputError(`${kind} template: parameter ${name} has no Default: give --param ${name}=VALUE`);
}

/** A list for CommaDelimitedList and List<...> parameters, else a string. */
function typedValue(decl, value) {
  const type = String(decl?.Type ?? 'String');
  if (type === 'CommaDelimitedList' || type.startsWith('List<')) {
    return Array.isArray(value) ? value.map(String) : String(value).split(',').map((s) => s.trim());
  }
  return String(value);
}

function canonical(v) {
  return Array.isArray(v) ? JSON.stringify(v.map(String)) : String(v);
}

/** A resolved value as Fn::Sub and Fn::Join put it in a string. */
export function stringOf(v) {
  if (Array.isArray(v)) return v.map(String).join(',');
  if (v === NO_VALUE) return '';
  return String(v);
}
