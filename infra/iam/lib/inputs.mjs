// Reading the checker's inputs: the error class for an input it cannot use (one line on
// stderr, exit 2), JSON files, and a value as a list (IAM and CloudFormation take one or many).

import { readFileSync } from 'node:fs';

/** An input the checker cannot use: one line, exit 2. */
export class InputError extends Error {}

export function readJson(path, what) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InputError(`${what} ${path}: cannot read (${error.code ?? error.message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${what} ${path}: not valid JSON (${error.message})`);
  }
}

/** undefined and null as [], a single value as [value], a list as itself. */
export function toArray(v) {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}
