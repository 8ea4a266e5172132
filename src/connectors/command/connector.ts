/**
 * What the command-running connectors (ssh, bascule) share: the command operation, the
 * exec capability, the command line the accord's policy is matched against, and what the
 * audit keeps of a result. Each subclass says how the command reaches the target.
 */
import { parseOrThrow } from '../../base/zod-issues.js';
import type { CredentialType } from '../../credentials/types.js';
import type { Capability } from '../../governance/capabilities.js';
import type { CommandOperation, ExecResult } from '../../transports/types.js';
import type { Connector, RunContext } from '../connector.js';
import type { OperationSpec } from '../operation.js';
import { execAuditDetail, policyCommandLine } from './operation.js';

export abstract class CommandConnector implements Connector<CommandOperation, ExecResult> {
  abstract readonly name: string;
  abstract readonly credentialType: CredentialType;

  constructor(readonly operation: OperationSpec) {}

  parseOperation(raw: unknown): CommandOperation {
    return parseOrThrow(this.operation.schema, raw, 'operation') as CommandOperation;
  }

  requiredCapabilities(): readonly Capability[] {
    return ['exec'];
  }

  commandLine(op: CommandOperation, ac: { commands?: unknown }): string {
    return policyCommandLine(op, ac);
  }

  auditDetail(result: ExecResult): Record<string, unknown> {
    return execAuditDetail(result);
  }

  abstract run(ctx: RunContext<CommandOperation>): Promise<ExecResult>;
}
