/**
 * How a configuration problem is reported: one ConfigError whose `where` is `<file>: <key
 * path>` and whose `why` is text written by Bastion. Neither ever carries a value from the
 * file: a token pasted into the wrong key must not end up in a log. Key names are quoted
 * only when they look like key names.
 */
import type { z } from 'zod';
import { ConfigError } from '../base/errors.js';
import { DID_KEY_PATTERN } from '../governance/did-key.js';

export type Path = readonly PropertyKey[];

// Our keys are short lowercase words. Anything with a digit or over 32 characters is more
// likely a pasted token than a misspelt key, so it is not repeated back — except a did:key,
// a public name that maps keys (kerberos_principals), shown so the operator finds the entry.
const PRINTABLE_KEY = /^[A-Za-z_][A-Za-z_-]{0,31}$/;
const printable = (key: string): boolean => PRINTABLE_KEY.test(key) || DID_KEY_PATTERN.test(key);

export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') {
      out += `[${key}]`;
      continue;
    }
    // A "key" that does not look like one may be a pasted value: name it without quoting it.
    const name = typeof key === 'string' && printable(key) ? key : '(unrecognised key)';
    out += out === '' ? name : `.${name}`;
  }
  return out === '' ? '(top level)' : out;
}

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Object.hasOwn(node, key) ? (node as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return node;
}

/** Used only for an issue whose schema forgot its own message. */
export function fallbackMessage(issue: { code?: string }): string {
  return issue.code === 'invalid_type' ? 'has the wrong type' : 'is not valid';
}

/**
 * The first zod issue as a ConfigError. `at` is where the parsed value sits in the file
 * (for a plugin's section) and `raw` that value, to tell a missing key from a wrong one.
 */
export function issueToError(
  fileName: string,
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  at: Path = [],
): ConfigError {
  // An unknown key explains a missing required one (`max_duraton`), so it is reported first.
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
  if (issue === undefined) return new ConfigError(fileName, 'is not valid');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return new ConfigError(
      `${fileName}: ${formatPath([...at, ...issue.path, key])}`,
      'is not a known key',
    );
  }
  const where = `${fileName}: ${formatPath([...at, ...issue.path])}`;
  if (issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined) {
    return new ConfigError(where, 'is required');
  }
  return new ConfigError(where, issue.message);
}

/** A cross-field rule broke; `path` names the offending key. Turned into a ConfigError. */
export class Invalid extends Error {
  constructor(
    readonly path: Path,
    readonly why: string,
  ) {
    super(why);
  }
}

export function distinct(values: readonly string[], path: Path): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value)) throw new Invalid([...path, index], 'duplicates an earlier entry');
    seen.add(value);
  });
}

/** Parses a value that sits at `at` in the file; a problem is thrown as Invalid-free ConfigError. */
export function parseAt<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  fileName: string,
  at: Path,
): z.output<S> {
  const parsed = schema.safeParse(raw, { error: fallbackMessage });
  if (!parsed.success) throw issueToError(fileName, parsed.error.issues, raw, at);
  return parsed.data;
}
