/**
 * `bastion authorize | approve | deny | revoke | acs show`: thin wrappers over BastionClient.
 * The broker URL comes from --url, else $BASTION_URL, else http://127.0.0.1:8443.
 */
import { parseArgs } from 'node:util';
import { BastionClient } from '../../client/client.js';
import { parseDuration } from '../../base/duration.js';
import { readPrincipalKey } from '../../governance/did-key.js';
import type { AcView } from '../../governance/views.js';
import { InvalidArgumentError } from '../../base/errors.js';
import { output, parseCommandArgs, required } from '../args.js';
import { FLAGS } from '../flags.js';

export function clientFor(values: {
  key?: string | undefined;
  url?: string | undefined;
}): BastionClient {
  const url = values.url ?? process.env['BASTION_URL'] ?? 'http://127.0.0.1:8443';
  return new BastionClient({ url, key: readPrincipalKey(required(values.key, '--key')) });
}

function viewLines(view: AcView): string[] {
  return [
    `ac_id        ${view.ac_id}`,
    `status       ${view.status}`,
    `principal    ${view.principal_did}`,
    `accord       ${view.accord}`,
    `connector    ${view.connector}`,
    `target       ${view.target}`,
    `capabilities ${view.capabilities.join(', ')} (mask ${view.capability_mask})`,
    `approvals    ${view.approvals.length}/${view.approvals_required}`,
    ...(view.expires_at !== undefined ? [`expires_at   ${view.expires_at}`] : []),
    ...(view.revoked_at !== undefined ? [`revoked_at   ${view.revoked_at}`] : []),
    ...(view.denied_at !== undefined
      ? [`denied_at    ${view.denied_at} by ${view.denied_by ?? 'an approver'}`]
      : []),
    ...(view.ac !== undefined ? [`ac           ${view.ac}`] : []),
  ];
}

export async function runAuthorize(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args: args,
      options: FLAGS.authorize,
      strict: true,
    }),
  );
  const result = await clientFor(values).authorize({
    accord: required(values.accord, '--accord'),
    connector: required(values.connector, '--connector'),
    target: required(values.target, '--target'),
    capabilities: values.cap ?? [],
    duration_seconds: parseDuration(required(values.duration, '--duration'), '--duration'),
    ...(values.justification !== undefined ? { justification: values.justification } : {}),
    // The agent's did:key: the broker checks it (a did:key the accord lists as a delegate).
    ...(values['delegate-to'] !== undefined ? { delegate_to: values['delegate-to'] } : {}),
  });
  output(values.json === true, result, () =>
    result.status === 'active'
      ? [
          `ac_id      ${result.ac_id}`,
          `status     active`,
          `expires_at ${result.expires_at}`,
          `ac         ${result.ac}`,
        ]
      : [
          `ac_id      ${result.ac_id}`,
          `status     pending_approval (${result.approvals_required} approvals needed)`,
        ],
  );
  return 0;
}

/** A command on one AC: `flags` are its entry in FLAGS; `--comment`, where it has one. */
function acCommand(
  flags: (typeof FLAGS)['approve'] | (typeof FLAGS)['revoke'],
  call: (client: BastionClient, acId: string, comment: string | undefined) => Promise<AcView>,
) {
  return async (args: string[]): Promise<number> => {
    const { values, positionals } = parseCommandArgs(
      () => parseArgs({ args, options: flags, strict: true, allowPositionals: true }),
      1,
    );
    const acId = positionals[0];
    if (acId === undefined) throw new InvalidArgumentError('AC id (it is required)');
    const { comment } = values as { comment?: string };
    const view = await call(clientFor(values), acId, comment);
    output(values.json === true, view, () => viewLines(view));
    return 0;
  };
}

export const runApprove = acCommand(FLAGS.approve, (client, id, comment) =>
  client.approve(id, comment),
);
/** Refuses a pending AC for good: it can no longer be approved; the requester sees why. */
export const runDeny = acCommand(FLAGS.deny, (client, id, comment) => client.deny(id, comment));
export const runRevoke = acCommand(FLAGS.revoke, (client, id) => client.revoke(id));
const runShow = acCommand(FLAGS['acs show'], (client, id) => client.show(id));

/** `acs list` and `approvals list`: one line per AC, or the views as JSON. */
function listCommand(
  flags: (typeof FLAGS)['acs list'],
  call: (c: BastionClient, limit?: number) => Promise<{ acs: AcView[] }>,
) {
  return async (args: string[]): Promise<number> => {
    const { values } = parseCommandArgs(() => parseArgs({ args, options: flags, strict: true }));
    let limit: number | undefined;
    if (values.limit !== undefined) {
      limit = /^\d{1,4}$/.test(values.limit) ? Number(values.limit) : 0;
      if (limit < 1 || limit > 1000) throw new InvalidArgumentError('--limit (1 to 1000)');
    }
    const { acs } = await call(clientFor(values), limit);
    output(values.json === true, { acs }, () =>
      acs.length === 0
        ? ['(none)']
        : acs.map((v) =>
            [v.ac_id, v.status.padEnd(16), v.accord, v.connector, v.target, v.principal_did].join(
              '  ',
            ),
          ),
    );
    return 0;
  };
}

const runList = listCommand(FLAGS['acs list'], (client, limit) => client.listAcs(limit));
const runAwaiting = listCommand(FLAGS['approvals list'], (client, limit) =>
  client.awaitingApproval(limit),
);

export function runAcs(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'show') return runShow(rest);
  if (sub === 'list') return runList(rest);
  throw new InvalidArgumentError('acs subcommand (use: bastion acs show AC_ID | acs list)');
}

export function runApprovals(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'list') return runAwaiting(rest);
  throw new InvalidArgumentError('approvals subcommand (use: bastion approvals list)');
}
