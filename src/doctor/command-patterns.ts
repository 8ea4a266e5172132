/**
 * Command patterns that do not match what they seem to. A command policy is a glob over the
 * whole command line (governance/patterns.ts): `*` is one or more characters of any kind,
 * spaces, `;` and `&&` included, and nothing is anchored at word boundaries. So `*rm *`
 * misses `rm -rf /` (a leading `*` needs a character before `rm`) and catches `confirm x`.
 * Each pattern is run through the real matcher against a few probe commands built from the
 * pattern itself, and what surprised is said with what the pattern actually matches.
 */
import type { BastionConfig } from '../config/config.js';
import type { Accord } from '../governance/accords.js';
import { globMatches, hasWildcard } from '../governance/patterns.js';
import { type CheckResult, result } from './check.js';

type Side = 'allow' | 'deny';

/** The pattern in words: what the matcher reads, token by token. */
export function describeGlob(pattern: string): string {
  const parts = pattern
    .replace(/\*+/g, '*')
    .split(/([*?])/)
    .filter((part) => part !== '')
    .map((part) =>
      part === '*' ? 'one or more characters' : part === '?' ? 'one character' : `"${part}"`,
    );
  return `${parts.join(', then ')}, and nothing else on the line`;
}

/** The command the pattern seems to be about, with each wildcard as `x`: `*rm *` → `rm x`. */
function intended(pattern: string): string {
  return pattern.replace(/^[*?\s]+/, '').replace(/[*?]+/g, 'x');
}

/** The program name the pattern spells: its literal start, up to a space or a wildcard. */
function programOf(pattern: string): string {
  return /^[*?\s]*([^*?\s]*)/.exec(pattern)?.[1] ?? '';
}

interface Probe {
  readonly command: string;
  /** Why its outcome surprises, when it does. */
  readonly surprise: (matched: boolean) => string | undefined;
}

function probesFor(pattern: string, side: Side): Probe[] {
  const example = intended(pattern);
  const program = programOf(pattern);
  if (example === '' || program === '') return [];
  const rest = example.slice(program.length);
  const probes: Probe[] = [
    {
      command: example,
      surprise: (m) =>
        m ? undefined : `does not match "${example}": a leading * needs a character before it`,
    },
    {
      command: `my${example}`,
      surprise: (m) =>
        m ? `also matches "my${example}": any command whose name ends in ${program}` : undefined,
    },
  ];
  if (side === 'allow') {
    probes.push({
      command: `${program}x${rest}`,
      surprise: (m) =>
        m
          ? `also allows "${program}x${rest}": any command whose name starts with ${program}`
          : undefined,
    });
  }
  if (side === 'deny' && / \*+$/.test(pattern)) {
    const bare = intended(pattern.replace(/ \*+$/, ''));
    probes.push({
      command: bare,
      surprise: (m) =>
        m ? undefined : `does not match "${bare}" alone: a trailing * needs at least one character`,
    });
  }
  if (side === 'deny' && !program.includes('/')) {
    for (const around of [`/usr/bin/${example}`, `sudo ${example}`]) {
      probes.push({
        command: around,
        surprise: (m) =>
          m
            ? undefined
            : `does not match "${around}": a deny list is easy to go around, prefer an allow list`,
      });
    }
  }
  return probes;
}

/** What surprises about one pattern; empty when it matches what it seems to. */
export function patternSurprises(pattern: string, side: Side): string[] {
  if (!hasWildcard(pattern)) {
    return side === 'deny'
      ? [
          `has no wildcard: it denies that exact line only ("${pattern} " or a reordered flag passes)`,
        ]
      : [];
  }
  return probesFor(pattern, side).flatMap(
    (probe) => probe.surprise(globMatches(pattern, probe.command)) ?? [],
  );
}

/** Whether a `*` of the allow list can span a `;` or `&&` (said once, with why it is safe). */
function spansSeparators(accord: Accord): boolean {
  return (accord.commands?.allow ?? []).some(
    (pattern) => hasWildcard(pattern) && globMatches(pattern, `${intended(pattern)}; reboot`),
  );
}

const SEPARATOR_NOTE =
  'note: * also spans ";" and "&&" (the matcher reads text), but under a policy ssh refuses a command line with shell syntax and quotes each argv element, and bascule runs no shell: a separator inside a match cannot start a second command';

/** One result per accord with a command policy. */
export function lintCommandPatterns(config: BastionConfig): CheckResult[] {
  return config.accords.flatMap((accord) => {
    const policy = accord.commands;
    if (policy === undefined) return [];
    const lines: string[] = [];
    for (const side of ['allow', 'deny'] as const) {
      for (const pattern of policy[side]) {
        const surprises = patternSurprises(pattern, side);
        if (surprises.length === 0) continue;
        lines.push(`${side} "${pattern}" matches ${describeGlob(pattern)}:`);
        lines.push(...surprises.map((s) => `  ${s}`));
      }
    }
    const trapped = lines.length > 0;
    if (spansSeparators(accord)) lines.push(SEPARATOR_NOTE);
    const count = policy.allow.length + policy.deny.length;
    return [
      result(
        'commands',
        accord.id,
        trapped ? 'warn' : 'ok',
        trapped
          ? `accord ${accord.id}: command patterns that do not match what they seem to`
          : `accord ${accord.id}: ${count} command patterns match what they seem to`,
        lines,
      ),
    ];
  });
}
