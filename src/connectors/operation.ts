/**
 * A connector's operation, defined once: the zod schema of the `operation` a caller sends
 * and of the result it gets back. The HTTP route's body and response schemas, the OpenAPI
 * document, the MCP bridge's `invoke` input and the CLI's `invoke` flags are all derived
 * from it, so a size limit or a field is declared in exactly one place.
 */
import { z } from 'zod';

export interface OperationSpec {
  /** What a caller sends as `operation`: structure and size limits (the connector adds meaning). */
  readonly schema: z.ZodType;
  /** What the connector returns as `result`. */
  readonly result: z.ZodType;
  /** One sentence for agents and docs: the operation's shape. */
  readonly summary: string;
  /** The CLI's reading of its flags (see src/cli/operation-flags.ts). */
  readonly cli?: {
    /** The array field the words after `--` fill, e.g. `argv`. */
    readonly rest?: string;
  };
}

/** A JSON Schema (draft-07, as Fastify's validator and OpenAPI 3.1 read it) of a zod schema. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { target: 'draft-7', io }) as Record<
    string,
    unknown
  >;
  return json;
}

/**
 * The operations of several connectors as one schema (for a caller that does not know the
 * connector yet, like the MCP tool): unions flattened, shared shapes listed once.
 */
export function unionOf(specs: readonly OperationSpec[]): z.ZodType {
  const options: z.ZodType[] = [];
  for (const spec of specs) {
    const shapes = spec.schema instanceof z.ZodUnion ? [...spec.schema.options] : [spec.schema];
    for (const shape of shapes)
      if (!options.includes(shape as z.ZodType)) options.push(shape as z.ZodType);
  }
  const [first, second, ...rest] = options;
  if (first === undefined) return z.never();
  if (second === undefined) return first;
  return z.union([first, second, ...rest]);
}
