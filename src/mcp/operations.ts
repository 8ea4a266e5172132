/**
 * The `operation` of the `invoke` tool, derived from the connectors' own operation schemas
 * (the registry), so an agent is told exactly what the broker will accept, with the same
 * bounds and field descriptions, and nothing is declared twice.
 */
import type { z } from 'zod';
import { InvalidArgumentError } from '../base/errors.js';
import { unionOf } from '../connectors/operation.js';
import type { ConnectorPlugin } from '../connectors/plugin.js';
import type { Registry } from '../base/registry.js';

/** Per connector kind, the shape of its operation: for the tool's descriptions. */
export function operationShapes(connectors: Registry<ConnectorPlugin>): string {
  return connectors
    .list()
    .map((plugin) => `${plugin.kind} takes ${plugin.operation.summary}`)
    .join('; ');
}

/** Any connector's operation; which one applies is checked against the AC's connector. */
export function operationInput(connectors: Registry<ConnectorPlugin>): z.ZodType {
  return unionOf(connectors.list().map((plugin) => plugin.operation)).describe(
    `What to do; its shape depends on the AC's connector: ${operationShapes(connectors)}.`,
  );
}

/**
 * The operation against the AC's own connector, before anything reaches the broker (which
 * checks it again, strictly). A connector this bridge does not know is left to the broker.
 */
export function checkOperationFits(
  connectors: Registry<ConnectorPlugin>,
  connector: string,
  operation: unknown,
): void {
  const plugin = connectors.get(connector);
  if (plugin === undefined || plugin.operation.schema.safeParse(operation).success) return;
  throw new InvalidArgumentError(
    `operation (the AC's connector ${plugin.kind} takes ${plugin.operation.summary})`,
  );
}
