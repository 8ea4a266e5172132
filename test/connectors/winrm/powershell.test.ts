/**
 * The command policy on PowerShell scripts: a table of tricky scripts with their verdicts,
 * and properties (fast-check, fixed seed) that a denied cmdlet hidden in any statement,
 * pipeline, block, subexpression, string expansion or call position — nested — is always
 * refused, while the same places holding an allowed cmdlet pass (so the refusal is the
 * hidden cmdlet's, not the template's).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkPowerShellPolicy,
  describePowerShell,
  resolveCommandName,
} from '../../../src/connectors/winrm/powershell.js';
import { runs } from '../../helpers/property.js';

const POLICY = {
  allow: [
    'Get-*',
    'Select-Object',
    'Where-Object',
    'ForEach-Object',
    'Sort-Object',
    'Write-Output',
    'whoami',
    'ipconfig',
  ],
  deny: ['Remove-*', 'Stop-Process'],
};

type Verdict = 'ok' | 'command_not_allowed' | 'winrm_powershell_unclassifiable';

function verdict(script: string, policy = POLICY): Verdict {
  try {
    checkPowerShellPolicy(script, policy);
    return 'ok';
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'command_not_allowed' || code === 'winrm_powershell_unclassifiable') return code;
    throw err;
  }
}

const TABLE: [string, Verdict][] = [
  // Allowed: every command is on the allow list, whatever surrounds it.
  ['Get-Process', 'ok'],
  ['gps | Sort-Object CPU -Descending | Select-Object -First 5', 'ok'],
  ['Get-ChildItem C:\\ | Where-Object { $_.Length -gt 1kb } | ForEach-Object { $_.Name }', 'ok'],
  ['whoami; ipconfig /all', 'ok'],
  ['$x = Get-Date; Write-Output "year: $($x.ToString(\'yyyy\'))"', 'ok'],
  ['# Remove-Item x\nGet-Process', 'ok'],
  ['<# Remove-Item x #> Get-Process', 'ok'],
  ["Write-Output 'Remove-Item x; Stop-Process'", 'ok'],
  ['Write-Output "a `"; Remove-Item x`" b"', 'ok'],
  ["Write-Output 'it''s; Remove-Item'", 'ok'],
  [
    "if ((Get-Service w32time).Status -eq 'Running') { Write-Output up } else { Write-Output down }",
    'ok',
  ],
  ['foreach ($p in Get-Process) { Write-Output $p.Name }', 'ok'],
  ['Get-Process 2>&1 > $null', 'ok'],
  ['[math]::Round(1.5)', 'ok'],
  ["& 'Get-Process'; & { Get-Date }; . Get-Date", 'ok'],
  ["Write-Output @'\nRemove-Item x\n'@", 'ok'],
  ["Get-Item x | Select-Object @{n='Size';e={$_.Length}}", 'ok'],
  ['try { Get-Item x } catch { Write-Output failed } finally { Write-Output done }', 'ok'],
  ['Get\u2013Process', 'ok'],
  ['Get-Process `\n  -Name x', 'ok'],
  ['Get-Process `\r\n  -Name x # done', 'ok'],
  ['Write-Output "user: ${env:USERNAME}"', 'ok'],
  ['Get-Date -Format "yyyy # not a comment"; Get-Process', 'ok'],
  // Denied: a command off the allow list or on the deny list, in any spelling or position.
  ['Remove-Item C:\\x', 'command_not_allowed'],
  ['rm x', 'command_not_allowed'],
  ['del x', 'command_not_allowed'],
  ['REMOVE-ITEM x', 'command_not_allowed'],
  ['Microsoft.PowerShell.Management\\Remove-Item x', 'command_not_allowed'],
  ['Get-Process | kill', 'command_not_allowed'],
  ['Get-Process; Remove-Item x', 'command_not_allowed'],
  ['Get-Process\r\nRemove-Item x', 'command_not_allowed'],
  ['Get-Process && Remove-Item x', 'command_not_allowed'],
  ['Get-Process || rm x', 'command_not_allowed'],
  ['Get-Process & rm x', 'command_not_allowed'],
  ['Get-ChildItem | ForEach-Object { Remove-Item $_ }', 'command_not_allowed'],
  ['Write-Output "$(Remove-Item x)"', 'command_not_allowed'],
  ['Write-Output @"\n$(rm x)\n"@', 'command_not_allowed'],
  ['Write-Output (Remove-Item x)', 'command_not_allowed'],
  ['$x = rm x', 'command_not_allowed'],
  ['return rm x', 'command_not_allowed'],
  ['function f { Remove-Item x }', 'command_not_allowed'],
  ['& Remove-Item x', 'command_not_allowed'],
  ["& 'Remove-Item' x", 'command_not_allowed'],
  ['. rm x', 'command_not_allowed'],
  ['Write-Output \u2018text\u2019; Remove-Item x', 'command_not_allowed'],
  ['Write-Output "text\u201d; Remove-Item x', 'command_not_allowed'],
  ['Set-Content x y', 'command_not_allowed'],
  ['Get-Item x; cmd /c del x', 'command_not_allowed'],
  ['C:\\Windows\\System32\\whoami.exe', 'command_not_allowed'],
  ['Remove\u2013Item x', 'command_not_allowed'],
  ['Get-Process # comment\nRemove-Item x', 'command_not_allowed'],
  ['$h = @{ a = Remove-Item x }', 'command_not_allowed'],
  ['foreach ($f in rm x) { }', 'command_not_allowed'],
  ['Get-Process `\n; Remove-Item x', 'command_not_allowed'],
  ['Get-Process -Name a#b; Remove-Item x', 'command_not_allowed'],
  ['Get-Process $x[(rm x)]', 'command_not_allowed'],
  // Unclassifiable: dynamic invocation, code from text, methods, escapes, imbalance.
  ["iex 'Remove-Item x'", 'winrm_powershell_unclassifiable'],
  ['Invoke-Expression $s', 'winrm_powershell_unclassifiable'],
  ['& $cmd x', 'winrm_powershell_unclassifiable'],
  ['& (Get-Command Remove-Item) x', 'winrm_powershell_unclassifiable'],
  ['. $script', 'winrm_powershell_unclassifiable'],
  ['&"Re$x" y', 'winrm_powershell_unclassifiable'],
  ["[scriptblock]::Create('rm x').Invoke()", 'winrm_powershell_unclassifiable'],
  ["Get-Process ([scriptblock]'rm x')", 'winrm_powershell_unclassifiable'],
  ['(Get-Item x).Delete()', 'winrm_powershell_unclassifiable'],
  ['$sb.Invoke()', 'winrm_powershell_unclassifiable'],
  ["$ExecutionContext.InvokeCommand.InvokeScript('rm x')", 'winrm_powershell_unclassifiable'],
  ['Add-Type -TypeDefinition $src', 'winrm_powershell_unclassifiable'],
  ['powershell -EncodedCommand AAAA', 'winrm_powershell_unclassifiable'],
  [
    'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -c x',
    'winrm_powershell_unclassifiable',
  ],
  ['pwsh -c rm', 'winrm_powershell_unclassifiable'],
  ['Set-Alias g Remove-Item; g x', 'winrm_powershell_unclassifiable'],
  ['Get-Item x | % Delete', 'winrm_powershell_unclassifiable'],
  ['Get-Item x | ForEach-Object -MemberName Delete', 'winrm_powershell_unclassifiable'],
  ['Re`move-Item x', 'winrm_powershell_unclassifiable'],
  ["Write-Output 'unterminated", 'winrm_powershell_unclassifiable'],
  ['Get-Process )', 'winrm_powershell_unclassifiable'],
  ['Get-Process {', 'winrm_powershell_unclassifiable'],
  ["[System.IO.File]::Delete('x')", 'winrm_powershell_unclassifiable'],
  ["$t = [type]'System.IO.File'; $t::Delete('x')", 'winrm_powershell_unclassifiable'],
  ['Get-Process > C:\\out.txt', 'winrm_powershell_unclassifiable'],
  ['cmd --% /c del x', 'winrm_powershell_unclassifiable'],
  ['class X { }', 'winrm_powershell_unclassifiable'],
  ["$item.Attributes = 'Hidden'", 'winrm_powershell_unclassifiable'],
  ['Write-Output @"\nno end', 'winrm_powershell_unclassifiable'],
  ['<# unterminated', 'winrm_powershell_unclassifiable'],
  ['\uff32emove-Item x', 'winrm_powershell_unclassifiable'],
  ['Get-Process\u00a0; Remove-Item x', 'winrm_powershell_unclassifiable'],
  ['${a`}b} = 1', 'winrm_powershell_unclassifiable'],
  ['Write-Output "${a"}"; Remove-Item x', 'winrm_powershell_unclassifiable'],
  ["Write-Output 'a'#b; Remove-Item x", 'winrm_powershell_unclassifiable'],
  ['[ValidateScript({ rm x })]$a = 1', 'winrm_powershell_unclassifiable'],
  [`${'('.repeat(200)}Get-Date${')'.repeat(200)}`, 'winrm_powershell_unclassifiable'],
];

describe('PowerShell command policy', () => {
  for (const [script, expected] of TABLE) {
    it(`${JSON.stringify(script.slice(0, 60))} → ${expected}`, () => {
      assert.equal(verdict(script), expected);
    });
  }

  it('a deny list holds under a broad allow, in every spelling of the denied command', () => {
    const broad = { allow: ['*'], deny: ['Remove-Item', 'Stop-Process', 'cmd'] };
    assert.equal(verdict('Get-Process; whoami', broad), 'ok'); // the control
    for (const script of [
      'Remove-Item x',
      'rm x',
      'ERASE x',
      'Microsoft.PowerShell.Management\\Remove-Item x',
      'Get-Process | kill',
      'C:\\Windows\\System32\\cmd.exe /c del x',
      "& 'cmd' /c del x",
    ]) {
      assert.equal(verdict(script, broad), 'command_not_allowed', script);
    }
  });

  it('no policy: nothing is checked, as for the other connectors', () => {
    assert.doesNotThrow(() => checkPowerShellPolicy('iex $x; Remove-Item x', undefined));
  });

  it('names resolve case-insensitively through aliases, module and path', () => {
    assert.deepEqual(resolveCommandName('DEL').canonical, 'remove-item');
    assert.ok(resolveCommandName('C:\\tools\\cmd.exe').candidates.includes('cmd'));
    assert.ok(resolveCommandName('M\\Stop-Process').candidates.includes('stop-process'));
    assert.equal(
      describePowerShell('gps | where { $_.CPU } | Write-Output'),
      'powershell: get-process, where-object, write-output',
    );
    assert.equal(describePowerShell('& $x'), 'powershell: (not statically checkable)');
  });
});

// Places where a pipeline runs: `H` is the hole, nested up to three deep.
const TEMPLATES = [
  'Get-Date; H',
  'Get-Date\nH',
  'Get-Date\r\nH',
  'Get-Date | H',
  'Get-Date && H',
  'Get-Date || H',
  '& { H }',
  'Write-Output (H)',
  'Write-Output "a $(H) b"',
  "Write-Output 'x''y' \"$(H)\"",
  'Write-Output @"\nline $(H)\n"@',
  '$x = H',
  '$x = @(H)',
  'if (Get-Date) { H } else { Get-Date }',
  'Get-ChildItem | Where-Object { H }',
  'Get-ChildItem | ForEach-Object { H }',
  'function f { H }',
  '$h = @{ k = H; j = 1 }',
  'try { H } catch { Get-Date } finally { Get-Date }',
  'foreach ($i in H) { Get-Date }',
  'while ($true) { H }',
  '# a comment\nH',
  '<# a comment #> H',
  'Get-Date `\n; H',
  'Get-Process -Name "a;b" | H',
  'Get-Item $x[(H)]',
  'return H',
];

const nested = fc
  .array(fc.constantFrom(...TEMPLATES), { minLength: 1, maxLength: 3 })
  .map((chain) => (hole: string) => chain.reduce((inner, t) => t.replace('H', inner), hole));

describe('PowerShell command policy (properties)', () => {
  it('a denied or unlisted command in any nested position is refused', () => {
    const denied = fc.constantFrom(
      'Remove-Item x',
      'rm x',
      'del x',
      'REMOVE-item x',
      'Microsoft.PowerShell.Management\\Remove-Item x',
      'ri -Recurse x',
      'Stop-Process -Id 1',
      'kill 1',
      'Set-Content x y',
      "& 'Remove-Item' x",
      'Remove\u2014Item x',
    );
    fc.assert(
      fc.property(nested, denied, (place, command) => {
        assert.notEqual(verdict(place(command)), 'ok', place(command));
      }),
      runs(600),
    );
  });

  it('the same positions holding allowed commands pass (the control)', () => {
    const allowed = fc.constantFrom('Get-Date', 'gps', 'Get-Item x', 'whoami', "& 'Get-Date'");
    fc.assert(
      fc.property(nested, allowed, (place, command) => {
        assert.equal(verdict(place(command)), 'ok', place(command));
      }),
      runs(300),
    );
  });

  it('any text ends in a verdict: the scanner always terminates and throws nothing else', () => {
    const pieces = fc.constantFrom(
      ...[
        ' ',
        '\n',
        '\r\n',
        ';',
        '|',
        '&',
        '&&',
        '(',
        ')',
        '{',
        '}',
        '[',
        ']',
        '$',
        '$(',
        '@(',
        '@{',
      ],
      ...['@"\n', '\n"@', "@'\n", "\n'@", '"', "'", '\u2019', '`', '#', '<#', '#>', '=', '.', '::'],
      ...[
        '>',
        '2>&1',
        ',',
        '-x',
        'Get-Date',
        'rm',
        'iex',
        'foreach',
        'in',
        'if',
        '\u2013',
        '\u00e9',
      ],
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 40 }), (parts) => {
        const script = parts.join('');
        assert.ok(
          ['ok', 'command_not_allowed', 'winrm_powershell_unclassifiable'].includes(
            verdict(script),
          ),
        );
      }),
      runs(2000),
    );
  });

  it('a dynamic invocation in any nested position is unclassifiable', () => {
    const dynamic = fc.constantFrom('& $c', 'iex $s', '. $f', '$o.Invoke()', '& (Get-Date)');
    fc.assert(
      fc.property(nested, dynamic, (place, command) => {
        assert.equal(verdict(place(command)), 'winrm_powershell_unclassifiable', place(command));
      }),
      runs(300),
    );
  });
});
