/**
 * A zod validation failure in words chosen here, for callers of the API, the CLI and the
 * MCP bridge: the field path (only names that look like our field names) and the rule
 * broken, with the schema's own bounds, never the value given.
 */
import type { z } from 'zod';
import { InvalidArgumentError } from './errors.js';

const FIELD = /^[a-z_]{1,32}$/;

function reason(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return `at least ${String(issue.minimum)}`;
    case 'too_big':
      return `at most ${String(issue.maximum)}`;
    case 'unrecognized_keys':
      return 'unknown field';
    case 'invalid_union':
      return 'matches none of the accepted shapes';
    case 'invalid_format':
      return 'wrong format';
    default:
      return 'invalid';
  }
}

/** `what (path: rule; …)` for the first few issues, as an InvalidArgumentError. */
export function invalidArgumentFrom(what: string, error: z.ZodError): InvalidArgumentError {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path
      .map((p) => (typeof p === 'number' || FIELD.test(String(p)) ? String(p) : '…'))
      .join('.');
    const why = reason(issue);
    return path === '' ? why : `${path}: ${why}`;
  });
  return new InvalidArgumentError(`${what} (${parts.join('; ')})`);
}

/** Parses `raw` with `schema`, or throws the InvalidArgumentError that names the problem. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidArgumentFrom(what, parsed.error);
  return parsed.data;
}
