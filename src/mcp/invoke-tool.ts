/**
 * The `invoke` tool: one operation under an AC the bridge holds, named by its ac_id. The
 * connector and target are the AC's own (an agent may only repeat them); the operation is
 * checked against the AC's connector's schema before the broker checks it again.
 */
import { z } from 'zod';
import { AcExpiredError } from '../base/errors.js';
import { BrokerError } from '../client/client.js';
import { canonicalTarget } from '../governance/targets.js';
import { checkOperationFits, operationInput, operationShapes } from './operations.js';
import {
  acId,
  BridgeError,
  defineTool,
  overrideRefused,
  type ToolContext,
  type ToolDefinition,
} from './tool-kit.js';

export function invokeTool(ctx: ToolContext): ToolDefinition {
  const { client, connectors } = ctx;
  const state = { acs: ctx.acs };
  const operation = operationInput(connectors);
  return defineTool(
    'invoke',
    {
      title: 'Act under an AC',
      description:
        'Run one operation under an AC you hold, named by its ac_id (from request_access, or ' +
        "delegated to you by a human). The connector and target are the AC's own: leave " +
        'connector and target out (different ones are refused with override_refused). The ' +
        `operation's shape depends on the AC's connector: ${operationShapes(connectors)}. ` +
        "The accord's command policy " +
        "applies: a refused operation is an error with the broker's code (command_not_allowed, " +
        'shell_syntax_not_allowed, capability_missing, ac_revoked, ac_expired, ...) and nothing ' +
        "runs. Returns the connector's result as JSON (for commands: exit_code, stdout, stderr, " +
        'stdout_truncated, stderr_truncated, timed_out, duration_ms) and which short-lived ' +
        'credential the broker used for it (type and fingerprint only: you never see a ' +
        'credential). A result too large to return is cut, with truncated_by_bridge: true.',
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
      input: {
        ac_id: acId,
        operation,
        target: z
          .string()
          .min(1)
          .max(2048)
          .describe("Leave out: the target is the AC's. If given, it must be the AC's own.")
          .optional(),
        connector: z
          .string()
          .min(1)
          .max(32)
          .describe("Leave out: the connector is the AC's. If given, it must be the AC's own.")
          .optional(),
      },
      output: {
        invocation_id: z.string(),
        ac_id: acId,
        connector: z.string(),
        target: z.string(),
        result: z.looseObject({}).describe("The connector's result"),
        credential: z
          .object({
            type: z.string(),
            issued_by: z.string(),
            fingerprint: z.string(),
            expires_at: z.string(),
          })
          .describe('Which short-lived credential the broker used: never the credential'),
      },
    },
    async (args) => {
      const view = await client.show(args.ac_id);
      if (view.status !== 'active') {
        if (view.status !== 'pending_approval') state.acs.drop(args.ac_id);
        throw view.status === 'revoked'
          ? new BridgeError('ac_revoked')
          : view.status === 'expired'
            ? new AcExpiredError()
            : new BridgeError('ac_pending_approval');
      }
      // The AC decides where and how; the agent may only repeat it.
      if (args.connector !== undefined && args.connector !== view.connector)
        throw overrideRefused();
      if (args.target !== undefined) {
        let canonical: string;
        try {
          canonical = canonicalTarget(args.target);
        } catch {
          throw overrideRefused();
        }
        if (canonical !== canonicalTarget(view.target)) throw overrideRefused();
      }
      checkOperationFits(connectors, view.connector, args.operation);
      let token = state.acs.get(args.ac_id);
      if (token === undefined && view.ac !== undefined) {
        // Delegated by a human, approved since, or forgotten: the broker re-sends it to us.
        token = view.ac;
        state.acs.put(args.ac_id, token, view.expires_at);
      }
      if (token === undefined) {
        throw new BridgeError('ac_unknown_to_bridge');
      }
      let response: Awaited<ReturnType<typeof client.invoke>>;
      try {
        response = await client.invoke(view.connector, token, {
          target: view.target,
          operation: args.operation,
        });
      } catch (err) {
        // Revoked or expired between show and invoke: the token is worth nothing now.
        if (err instanceof BrokerError && /^ac_(revoked|expired)$/.test(err.code))
          state.acs.drop(args.ac_id);
        throw err;
      }
      // Fields named one by one: nothing the broker may add later leaves unseen.
      return {
        invocation_id: response.invocation_id,
        ac_id: response.ac_id,
        connector: response.connector,
        target: response.target,
        result: response.result,
        credential: {
          type: response.credential.type,
          issued_by: response.credential.issued_by,
          fingerprint: response.credential.fingerprint,
          expires_at: response.credential.expires_at,
        },
      };
    },
  );
}
