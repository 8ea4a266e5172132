/**
 * The bridge's six tools — what an agent may call — each with its input schema, its
 * description for the model, and its work against the broker (through the agent's
 * BastionClient). `invoke` is in invoke-tool.ts; what they share, in tool-kit.ts.
 */
import { z } from 'zod';
import { CAPABILITIES } from '../governance/capabilities.js';
import type { AcView } from '../governance/views.js';
import { invokeTool } from './invoke-tool.js';
import { acId, defineTool, type ToolContext, type ToolDefinition } from './tool-kit.js';

export function bridgeTools(ctx: ToolContext): ToolDefinition[] {
  const { client, maxChars } = ctx;
  const state = { acs: ctx.acs, audit: ctx.audit };
  const listAccords = defineTool(
    'list_accords',
    {
      title: 'What this agent may ask for',
      description:
        "List the accords this agent may use, and this agent's own DID. An accord is a standing " +
        'policy: which connectors (ssh, bascule, http, ...), targets (host or URL patterns) and ' +
        'capabilities (read, exec, write, admin) an access request under it may name, the ' +
        'longest duration it grants, the commands it allows or denies, and how many human ' +
        'approvals it needs. `as: "principal"` means you may call request_access under it ' +
        'yourself. `as: "delegate"` means you may not request under it: a human principal must ' +
        'request an AC for you (delegate it to your DID) and give you its ac_id, which you then ' +
        'pass to invoke. No arguments.',
      annotations: { readOnlyHint: true, openWorldHint: false },
      input: {},
      output: {
        agent_did: z.string().describe("This agent's DID"),
        accords: z
          .array(
            z.looseObject({
              id: z.string(),
              as: z.enum(['principal', 'delegate']),
              connectors: z.array(z.string()),
              targets: z.array(z.string()),
              capabilities: z.array(z.string()),
              max_duration_seconds: z.number(),
              approvals_required: z.number(),
            }),
          )
          .describe('The accords this agent may use'),
      },
    },
    async () => {
      const { accords } = await client.accords();
      return { agent_did: client.did, accords };
    },
  );

  const requestAccess = defineTool(
    'request_access',
    {
      title: 'Ask for an authorization context (AC)',
      description:
        'Ask the broker for an AC: the right to act on one target through one connector, for a ' +
        'limited time, under an accord you are a principal of (see list_accords). Returns an ' +
        'ac_id — never the AC itself, which stays inside this bridge — and a status: "active" ' +
        '(use the ac_id with invoke until expires_at) or "pending_approval" (approvals_required ' +
        'humans must approve first; poll request_status, and invoke once they have). Ask for the least you need: ' +
        'only the capabilities the work needs (running a command needs exec), the shortest ' +
        'duration that fits, and say why in justification (approvers and the audit trail see ' +
        'it). A refusal is an error whose code names the rule broken: unknown_accord, ' +
        'principal_not_allowed, connector_not_allowed, target_not_allowed, ' +
        'target_address_refused (a link-local or cloud-metadata target the accord does not ' +
        'name exactly), capability_not_granted, duration_exceeds_max, outside_time_window.',
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
      input: {
        accord: z.string().min(1).max(64).describe('The accord id, from list_accords'),
        connector: z
          .string()
          .min(1)
          .max(32)
          .describe("One of the accord's connectors, e.g. ssh, bascule, http"),
        target: z
          .string()
          .min(1)
          .max(2048)
          .describe(
            "The one host name, IP address or https:// URL to act on; must match one of the accord's target patterns",
          ),
        capabilities: z
          .array(z.enum(CAPABILITIES as [string, ...string[]]))
          .min(1)
          .max(16)
          .describe('What the AC may do: read, exec (run commands), write, admin'),
        duration_seconds: z
          .number()
          .int()
          .min(1)
          .max(31_536_000)
          .describe("How long the AC lasts, in seconds; at most the accord's max_duration_seconds"),
        justification: z
          .string()
          .max(1024)
          .describe('Why you need this access, for the approvers and the audit trail')
          .optional(),
      },
      output: {
        ac_id: acId,
        status: z.enum(['active', 'pending_approval']),
        expires_at: z.string().describe('When an active AC ends (ISO 8601)').optional(),
        approvals_required: z
          .number()
          .describe('How many approvals a pending AC still waits for')
          .optional(),
      },
    },
    async (args) => {
      const result = await client.authorize({
        accord: args.accord,
        connector: args.connector,
        target: args.target,
        capabilities: args.capabilities,
        duration_seconds: args.duration_seconds,
        ...(args.justification !== undefined ? { justification: args.justification } : {}),
      });
      if (result.status === 'active') {
        state.acs.put(result.ac_id, result.ac, result.expires_at);
        return { ac_id: result.ac_id, status: result.status, expires_at: result.expires_at };
      }
      return {
        ac_id: result.ac_id,
        status: result.status,
        approvals_required: result.approvals_required,
      };
    },
  );

  const requestStatus = defineTool(
    'request_status',
    {
      title: 'Check on an access request',
      description:
        'Poll an AC you requested or were delegated, by ac_id: status "pending_approval" (approvals ' +
        'given so far of approvals_required: humans are deciding; call again later, not in a ' +
        'tight loop), "active" (use it with invoke until expires_at), "expired" (nobody approved ' +
        'in time, or its time ran out) or "revoked". Without ac_id, your ACs, newest first.',
      annotations: { readOnlyHint: true, openWorldHint: false },
      input: { ac_id: acId.optional() },
      // One AC's status (with ac_id), or `acs`, a list of them (without).
      output: {
        ac_id: acId.optional(),
        status: z.enum(['pending_approval', 'active', 'expired', 'revoked', 'denied']).optional(),
        accord: z.string().optional(),
        connector: z.string().optional(),
        target: z.string().optional(),
        approvals: z.number().describe('Approvals given so far').optional(),
        approvals_required: z.number().optional(),
        expires_at: z.string().describe('ISO 8601').optional(),
        acs: z
          .array(z.looseObject({ ac_id: z.string(), status: z.string() }))
          .describe('Your ACs, newest first')
          .optional(),
      },
    },
    async (args) => {
      const summary = (v: AcView): Record<string, unknown> => ({
        ac_id: v.ac_id,
        status: v.status,
        accord: v.accord,
        connector: v.connector,
        target: v.target,
        approvals: v.approvals.length,
        approvals_required: v.approvals_required,
        ...(v.expires_at !== undefined ? { expires_at: v.expires_at } : {}),
      });
      if (args.ac_id === undefined) {
        const { acs } = await client.listAcs(20);
        return { acs: acs.map(summary) };
      }
      const view = await client.show(args.ac_id);
      // Approved since it was requested: the token is kept here for invoke, never returned.
      if (view.status === 'active' && view.ac !== undefined)
        state.acs.put(view.ac_id, view.ac, view.expires_at);
      return summary(view);
    },
  );

  const revoke = defineTool(
    'revoke',
    {
      title: 'Revoke an AC',
      description:
        'Revoke an AC as soon as the work is done, or at once if something looks wrong: nobody ' +
        'can use it again. Returns its final status.',
      annotations: {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
      input: { ac_id: acId },
      output: {
        ac_id: acId,
        status: z.enum(['pending_approval', 'active', 'expired', 'revoked']),
        revoked_at: z.string().describe('ISO 8601').optional(),
      },
    },
    async (args) => {
      const view = await client.revoke(args.ac_id);
      state.acs.drop(args.ac_id);
      return {
        ac_id: view.ac_id,
        status: view.status,
        ...(view.revoked_at !== undefined ? { revoked_at: view.revoked_at } : {}),
      };
    },
  );

  const auditTail = defineTool(
    'audit_tail',
    {
      title: 'Recent audit entries',
      description:
        'The most recent entries of the audit trail about you, oldest first (the broker shows ' +
        'an agent only its own entries): authorize, approve, revoke, deny (a refused request ' +
        'and its code), and per invocation invoke_start, credential_issue, credential_discard ' +
        "and invoke_end with the outcome. Give ac_id for one AC's entries only. complete: false " +
        'means the trail is long and not all of it was read yet: call again for newer entries.',
      annotations: { readOnlyHint: true, openWorldHint: false },
      input: {
        limit: z
          .number()
          .int()
          .min(1)
          .max(200)
          .describe('How many of the newest entries to return (default 20)')
          .optional(),
        ac_id: acId.optional(),
      },
      output: {
        entries: z
          .array(z.looseObject({ seq: z.number(), type: z.string(), ts: z.string() }))
          .describe('Audit entries, oldest first'),
        complete: z.boolean(),
        omitted_oldest: z.number().describe('Entries left out to fit the result').optional(),
      },
    },
    async (args) => {
      const { entries, complete } = await state.audit.read(client, args.ac_id, args.limit ?? 20);
      // Too large: drop the oldest entries, keep the newest whole.
      let kept = entries;
      const reply = (): Record<string, unknown> => ({
        entries: kept,
        complete,
        ...(kept.length < entries.length ? { omitted_oldest: entries.length - kept.length } : {}),
      });
      while (kept.length > 1 && JSON.stringify(reply()).length > maxChars) kept = kept.slice(1);
      return reply();
    },
  );
  return [listAccords, requestAccess, requestStatus, invokeTool(ctx), revoke, auditTail];
}

export const INSTRUCTIONS =
  'Bastion governs what you may do on infrastructure, and you never hold a password, key or ' +
  'token. See what you may ask for with list_accords; ask with request_access (least ' +
  'capability, shortest duration, a clear justification); act with invoke, naming the AC by ' +
  'its ac_id; revoke the AC when the work is done. Every step is audited (audit_tail).';
