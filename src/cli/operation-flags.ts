/**
 * The `invoke` command's operation flags, derived from a connector's operation schema:
 * a string field is `--field VALUE`, a list `--field VALUE` (repeatable) or, for the field
 * the spec names as `rest`, the words after `--`; a mapping `--field NAME=VALUE`
 * (repeatable). A connector added to the registry gets its flags without a CLI change.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../base/errors.js';
import type { OperationSpec } from '../connectors/operation.js';

type FlagKind = 'string' | 'list' | 'map' | 'rest';

export interface OperationFlag {
  readonly field: string;
  readonly kind: FlagKind;
  readonly optional: boolean;
  readonly choices?: readonly string[];
}

/** The object shapes a schema accepts: its union's options, or itself. */
function shapes(schema: z.ZodType): z.ZodObject[] {
  if (schema instanceof z.ZodUnion) return schema.options.flatMap((o) => shapes(o as z.ZodType));
  return schema instanceof z.ZodObject ? [schema] : [];
}

function flagOf(field: string, type: z.ZodType, spec: OperationSpec): OperationFlag {
  let inner = type;
  let optional = false;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) {
    optional = true;
    inner = inner.unwrap() as z.ZodType;
  }
  if (inner instanceof z.ZodArray) {
    return { field, kind: spec.cli?.rest === field ? 'rest' : 'list', optional };
  }
  if (inner instanceof z.ZodRecord) return { field, kind: 'map', optional };
  if (inner instanceof z.ZodEnum) {
    return { field, kind: 'string', optional, choices: inner.options.map(String) };
  }
  return { field, kind: 'string', optional };
}

/** The flags of each shape the operation accepts. */
function alternatives(spec: OperationSpec): OperationFlag[][] {
  return shapes(spec.schema).map((shape) =>
    Object.entries(shape.shape).map(([field, type]) => flagOf(field, type as z.ZodType, spec)),
  );
}

/** Every flag of the operation, each field once. */
export function operationFlags(spec: OperationSpec): OperationFlag[] {
  const byField = new Map<string, OperationFlag>();
  for (const flag of alternatives(spec).flat()) byField.set(flag.field, flag);
  return [...byField.values()];
}

function synopsis(flag: OperationFlag): string {
  const value = flag.choices?.join('|') ?? 'TEXT';
  const text =
    flag.kind === 'rest'
      ? `-- ${flag.field.toUpperCase()}...`
      : flag.kind === 'map'
        ? `--${flag.field} NAME=VALUE...`
        : flag.kind === 'list'
          ? `--${flag.field} ${value}...`
          : `--${flag.field} ${value}`;
  return flag.optional ? `[${text}]` : text;
}

/** `-- ARGV... [--stdin TEXT] | --command TEXT [--stdin TEXT]`, for help. */
export function operationFlagsHelp(spec: OperationSpec): string {
  return alternatives(spec)
    .map((flags) =>
      // The rest words come last on a command line.
      [...flags.filter((f) => f.kind !== 'rest'), ...flags.filter((f) => f.kind === 'rest')]
        .map(synopsis)
        .join(' '),
    )
    .join(' | ');
}

function pairs(values: readonly string[], field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values) {
    const at = item.indexOf('=');
    if (at <= 0) throw new InvalidArgumentError(`--${field} (give NAME=VALUE)`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/**
 * The operation the flags spell for this connector. `given` holds every operation flag the
 * command line set (by field); a flag this connector does not take is refused by name.
 */
export function operationFromFlags(
  spec: OperationSpec,
  connector: string,
  given: Readonly<Record<string, string | readonly string[] | undefined>>,
  rest: readonly string[],
): Record<string, unknown> {
  const flags = operationFlags(spec);
  for (const [field, value] of Object.entries(given)) {
    if (value !== undefined && !flags.some((f) => f.field === field && f.kind !== 'rest')) {
      throw new InvalidArgumentError(`option --${field} (connector ${connector} does not take it)`);
    }
  }
  const restFlag = flags.find((f) => f.kind === 'rest');
  if (rest.length > 0 && restFlag === undefined) {
    throw new InvalidArgumentError(
      `arguments after -- (connector ${connector} does not take them)`,
    );
  }
  const operation: Record<string, unknown> = {};
  for (const flag of flags) {
    const value = flag.kind === 'rest' ? (rest.length > 0 ? rest : undefined) : given[flag.field];
    if (value === undefined) continue;
    const list = typeof value === 'string' ? [value] : value;
    operation[flag.field] =
      flag.kind === 'map' ? pairs(list, flag.field) : flag.kind === 'string' ? list[0] : list;
  }
  return operation;
}
