/**
 * The accord's command policy applied to a PowerShell script, so JEA-like limits hold for
 * agents: every command the script invokes (powershell-scan.ts finds them, or refuses the
 * script) must match the allow list and none of the deny list. Names are compared
 * case-insensitively, aliases resolved to their cmdlet. A script that cannot be checked
 * is refused (`winrm_powershell_unclassifiable`); docs/winrm.md lists the rules and limits.
 */
import { InvocationDeniedError } from '../../governance/denials.js';
import { globMatches } from '../../governance/patterns.js';
import { POWERSHELL_ALIASES } from './powershell-aliases.js';
import { Unclassifiable, scanPowerShell, type ScannedCommand } from './powershell-scan.js';

export interface CommandPolicy {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

/** Commands that run text as code or redefine names: no policy can vouch for what follows. */
const CODE_RUNNERS = new Set([
  'invoke-expression',
  'add-type',
  'new-alias',
  'set-alias',
  'import-alias',
  'powershell',
  'pwsh',
  'powershell_ise',
]);

export interface ResolvedName {
  /** The name the allow list must match: the alias's cmdlet, or the name as written (lowercase). */
  readonly canonical: string;
  /** Every spelling the deny list is matched against: also without module, path or extension. */
  readonly candidates: readonly string[];
}

/** `del` → remove-item; `Microsoft.PowerShell.Management\Remove-Item` and `C:\x\cmd.exe` also as their last part. */
export function resolveCommandName(name: string): ResolvedName {
  const lower = name.toLowerCase();
  const canonical = (POWERSHELL_ALIASES.get(lower) ?? lower).toLowerCase();
  const last = canonical.split(/[\\/]/).pop() ?? canonical;
  const bare = last.replace(/\.(exe|com|bat|cmd|ps1)$/, '');
  const candidates = new Set([canonical, last, bare]);
  const bareAlias = POWERSHELL_ALIASES.get(bare);
  if (bareAlias !== undefined) candidates.add(bareAlias.toLowerCase());
  return { canonical, candidates: [...candidates] };
}

/** ForEach-Object given a member name (`% Delete`) calls that method on every input. */
function callsMember(command: ScannedCommand): boolean {
  return command.args.some(
    (a) =>
      a.kind === 'word' || a.kind === 'string' || (a.kind === 'parameter' && /^-m/i.test(a.text)),
  );
}

function scan(script: string): ScannedCommand[] {
  try {
    return scanPowerShell(script);
  } catch (err) {
    if (err instanceof Unclassifiable) {
      throw new InvocationDeniedError('winrm_powershell_unclassifiable');
    }
    throw err;
  }
}

/**
 * Throws InvocationDeniedError unless every command of `script` is allowed by `commands`
 * (no policy: nothing to check, as for the other connectors).
 */
export function checkPowerShellPolicy(script: string, commands: CommandPolicy | undefined): void {
  if (commands === undefined) return;
  const allow = commands.allow.map((p) => p.toLowerCase());
  const deny = commands.deny.map((p) => p.toLowerCase());
  for (const command of scan(script)) {
    const { canonical, candidates } = resolveCommandName(command.name);
    if (candidates.some((c) => CODE_RUNNERS.has(c))) {
      throw new InvocationDeniedError('winrm_powershell_unclassifiable');
    }
    if (candidates.includes('foreach-object') && callsMember(command)) {
      throw new InvocationDeniedError('winrm_powershell_unclassifiable');
    }
    if (candidates.some((c) => deny.some((p) => globMatches(p, c)))) {
      throw new InvocationDeniedError('command_not_allowed');
    }
    if (!allow.some((p) => globMatches(p, canonical))) {
      throw new InvocationDeniedError('command_not_allowed');
    }
  }
}

/** For the audit: the script's commands by canonical name (never its text), or that it did not scan. */
export function describePowerShell(script: string): string {
  try {
    const names = scanPowerShell(script).map((c) => resolveCommandName(c.name).canonical);
    return `powershell: ${[...new Set(names)].join(', ')}`;
  } catch {
    return 'powershell: (not statically checkable)';
  }
}
