/**
 * Config lint: accords the loader accepts that can still never be used. The loader already
 * refuses what is contradictory on its face (an empty principal list, more approvals than
 * approvers, a window that ends when it starts); what is left needs the rest of the
 * configuration to see — the connectors that exist, what they can require, the targets they
 * serve, and the rule that nobody approves their own request.
 */
import type { BastionConfig } from '../config/config.js';
import type { ConnectorEntry } from '../config/types.js';
import type { Accord } from '../governance/accords.js';
import { targetMatches } from '../governance/targets.js';
import { type CheckResult, type CheckStatus, result, worst } from './check.js';

interface Finding {
  readonly status: CheckStatus;
  readonly line: string;
}

/** A finding that is a failure when it holds for every connector of the accord. */
function allOrSome(count: number, of: number, line: string): Finding[] {
  if (count === 0) return [];
  return [{ status: count === of ? 'fail' : 'warn', line }];
}

function connectorFindings(accord: Accord, known: ReadonlyMap<string, ConnectorEntry>): Finding[] {
  const unknown = accord.connectors.filter((name) => !known.has(name));
  return allOrSome(
    unknown.length,
    accord.connectors.length,
    `connectors ${unknown.join(', ')}: no such connector in this build (known: ${[...known.keys()].join(', ')})`,
  );
}

function capabilityFindings(accord: Accord, entries: readonly ConnectorEntry[]): Finding[] {
  const findings: Finding[] = [];
  const useless = entries.filter(
    (e) => e.plugin.capabilities?.every((c) => !accord.capabilities.includes(c)) === true,
  );
  findings.push(
    ...allOrSome(
      useless.length,
      entries.length,
      `capabilities [${accord.capabilities.join(', ')}] include none that ${useless
        .map((e) => `${e.kind} (needs one of ${(e.plugin.capabilities ?? []).join(', ')})`)
        .join(', ')} requires: every invocation would be refused`,
    ),
  );
  const offered = new Set(entries.flatMap((e) => e.plugin.capabilities ?? []));
  const declared = entries.every((e) => e.plugin.capabilities !== undefined);
  const unused = accord.capabilities.filter((c) => !offered.has(c));
  if (declared && entries.length > 0 && unused.length > 0 && useless.length < entries.length) {
    findings.push({
      status: 'warn',
      line: `capabilities ${unused.join(', ')}: no operation of ${entries.map((e) => e.kind).join(', ')} requires them (granted for nothing)`,
    });
  }
  return findings;
}

function targetFindings(accord: Accord, entries: readonly ConnectorEntry[]): Finding[] {
  const unserved = entries.filter((e) => {
    const served = e.plugin.servedTargets?.(e.settings);
    return (
      served !== undefined &&
      !served.some((target) => accord.targets.some((pattern) => targetMatches(pattern, target)))
    );
  });
  return allOrSome(
    unserved.length,
    entries.length,
    `targets [${accord.targets.join(', ')}] match no target ${unserved
      .map((e) => `connectors.${e.kind} serves`)
      .join(' or ')}`,
  );
}

function approvalFindings(accord: Accord): Finding[] {
  const { required, approvers } = accord.approvals;
  if (required === 0) return [];
  // Nobody approves their own request: a principal who is an approver counts one fewer.
  const stuck = accord.principals.filter((p) => approvers.filter((a) => a !== p).length < required);
  return allOrSome(
    stuck.length,
    accord.principals.length,
    `approvals: ${stuck.length} of ${accord.principals.length} principals can never gather ${required} approvals (nobody approves their own request; ${approvers.length} approvers)`,
  );
}

function commandFindings(accord: Accord, entries: readonly ConnectorEntry[]): Finding[] {
  const policy = accord.commands;
  if (policy === undefined) return [];
  const findings: Finding[] = [];
  if (policy.allow.length === 0) {
    findings.push({ status: 'fail', line: 'commands.allow is empty: no command can run' });
  }
  // `*` (or `**`…) denies every command: the allow list is dead.
  if (policy.deny.some((p) => /^\*+$/.test(p))) {
    findings.push({ status: 'fail', line: 'commands.deny holds "*": no command can run' });
  }
  const runsCommands = entries.filter((e) => e.plugin.capabilities?.includes('exec') !== false);
  if (entries.length > 0 && runsCommands.length === 0) {
    findings.push({
      status: 'warn',
      line: `commands: never applies (${entries.map((e) => e.kind).join(', ')} runs no commands)`,
    });
  }
  return findings;
}

/** One result per accord: ok, or what keeps it (or part of it) from ever matching. */
export function lintAccords(config: BastionConfig): CheckResult[] {
  const known = new Map(config.connectors.map((entry) => [entry.kind, entry]));
  return config.accords.map((accord) => {
    const entries = accord.connectors.flatMap((name) => known.get(name) ?? []);
    const findings = [
      ...connectorFindings(accord, known),
      ...capabilityFindings(accord, entries),
      ...targetFindings(accord, entries),
      ...approvalFindings(accord),
      ...commandFindings(accord, entries),
    ];
    const status = worst(findings.map((f) => f.status));
    const message =
      status === 'ok'
        ? `accord ${accord.id}: can match`
        : status === 'fail'
          ? `accord ${accord.id}: can never be used`
          : `accord ${accord.id}: partly unusable`;
    return result(
      'config',
      `accord.${accord.id}`,
      status,
      message,
      findings.map((f) => f.line),
    );
  });
}
