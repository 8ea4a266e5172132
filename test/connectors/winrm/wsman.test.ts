/**
 * The WS-Man/WinRS envelopes and the reading of replies: the envelopes carry what
 * MS-WSMV asks for, hostile text cannot add an element, replies are read by namespace URI
 * whatever the prefixes, and faults become stable codes without the target's text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BastionError } from '../../../src/base/errors.js';
import { quoteWindowsArg, shellCommandOf } from '../../../src/connectors/winrm/command-line.js';
import {
  ACTIONS,
  CMD_SHELL_URI,
  NS,
  SIGNALS,
  commandEnvelope,
  createShellEnvelope,
  deleteShellEnvelope,
  receiveEnvelope,
  signalEnvelope,
} from '../../../src/connectors/winrm/wsman.js';
import {
  WinRmFaultError,
  parseCommandReply,
  parseCreateReply,
  parseReceiveReply,
} from '../../../src/connectors/winrm/wsman-reply.js';
import { child, descendant, parseXml, type XmlElement } from '../../../src/connectors/winrm/xml.js';
import { runs } from '../../helpers/property.js';
import { faultReply, receiveReply, SHELL_ID, COMMAND_ID } from './replies.js';

const OPTS = { to: 'http://win.internal.test:5985/wsman', operationTimeoutSeconds: 20 };

function header(env: XmlElement, ns: string, name: string): XmlElement {
  const found = child(child(env, NS.soap, 'Header'), ns, name);
  assert.ok(found, `header ${name}`);
  return found;
}

function options(env: XmlElement): Record<string, string> {
  const set = header(env, NS.wsman, 'OptionSet');
  return Object.fromEntries(set.children.map((o) => [o.attrs.get('Name') ?? '', o.text]));
}

describe('WinRS envelopes', () => {
  it('Create: cmd shell, addressing headers, no profile, UTF-8, streams, working directory', () => {
    const env = parseXml(createShellEnvelope(OPTS, { workingDirectory: 'C:\\work' }));
    assert.equal(header(env, NS.wsa, 'To').text, OPTS.to);
    assert.equal(header(env, NS.wsa, 'Action').text, ACTIONS.create);
    assert.match(header(env, NS.wsa, 'MessageID').text, /^uuid:[0-9A-F-]{36}$/);
    assert.equal(
      child(header(env, NS.wsa, 'ReplyTo'), NS.wsa, 'Address')?.text,
      'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous',
    );
    assert.equal(header(env, NS.wsman, 'ResourceURI').text, CMD_SHELL_URI);
    assert.equal(header(env, NS.wsman, 'MaxEnvelopeSize').text, '512000');
    assert.equal(header(env, NS.wsman, 'OperationTimeout').text, 'PT20S');
    assert.equal(
      header(env, NS.wsman, 'Locale').attrs.get('{http://www.w3.org/XML/1998/namespace}lang'),
      'en-US',
    );
    assert.deepEqual(options(env), { WINRS_NOPROFILE: 'TRUE', WINRS_CODEPAGE: '65001' });
    const shell = descendant(env, NS.shell, 'Shell');
    assert.equal(child(shell, NS.shell, 'WorkingDirectory')?.text, 'C:\\work');
    assert.equal(child(shell, NS.shell, 'InputStreams')?.text, 'stdin');
    assert.equal(child(shell, NS.shell, 'OutputStreams')?.text, 'stdout stderr');
  });

  it('Command, Receive, Signal, Delete: their actions, the ShellId selector and bodies', () => {
    const command = parseXml(
      commandEnvelope(OPTS, SHELL_ID, { command: 'whoami', args: '/all', skipCmdShell: true }),
    );
    assert.equal(header(command, NS.wsa, 'Action').text, ACTIONS.command);
    const selector = child(header(command, NS.wsman, 'SelectorSet'), NS.wsman, 'Selector');
    assert.equal(selector?.attrs.get('Name'), 'ShellId');
    assert.equal(selector?.text, SHELL_ID);
    assert.deepEqual(options(command), {
      WINRS_CONSOLEMODE_STDIN: 'TRUE',
      WINRS_SKIP_CMD_SHELL: 'TRUE',
    });
    const line = descendant(command, NS.shell, 'CommandLine');
    assert.equal(child(line, NS.shell, 'Command')?.text, 'whoami');
    assert.equal(child(line, NS.shell, 'Arguments')?.text, '/all');

    const receive = parseXml(receiveEnvelope(OPTS, SHELL_ID, COMMAND_ID));
    assert.equal(header(receive, NS.wsa, 'Action').text, ACTIONS.receive);
    const desired = descendant(receive, NS.shell, 'DesiredStream');
    assert.equal(desired?.attrs.get('CommandId'), COMMAND_ID);
    assert.equal(desired?.text, 'stdout stderr');

    for (const code of ['terminate', 'ctrl_c'] as const) {
      const signal = parseXml(signalEnvelope(OPTS, SHELL_ID, COMMAND_ID, code));
      assert.equal(header(signal, NS.wsa, 'Action').text, ACTIONS.signal);
      assert.equal(descendant(signal, NS.shell, 'Signal')?.attrs.get('CommandId'), COMMAND_ID);
      assert.equal(descendant(signal, NS.shell, 'Code')?.text, SIGNALS[code]);
    }
    const del = parseXml(deleteShellEnvelope(OPTS, SHELL_ID));
    assert.equal(header(del, NS.wsa, 'Action').text, ACTIONS.delete);
    assert.equal(child(child(del, NS.soap, 'Body'), NS.soap, 'Body'), undefined);
    assert.equal(child(del, NS.soap, 'Body')?.children.length, 0);
  });

  it('hostile text stays text: the command reads back exactly, and no element is added', () => {
    const hostile = fc.string({
      unit: fc.constantFrom(
        '<',
        '>',
        '&',
        '"',
        "'",
        ']]>',
        '<!--',
        'a',
        ' ',
        '\r',
        '\n',
        '&amp;',
        '</rsp:Command><rsp:X>',
        '\t',
        'é',
        '😀',
      ),
      maxLength: 40,
    });
    fc.assert(
      fc.property(hostile, hostile, hostile, (command, args, cwd) => {
        const env = parseXml(
          commandEnvelope(OPTS, SHELL_ID, {
            command,
            args: args === '' ? 'x' : args,
            skipCmdShell: false,
          }),
        );
        const line = descendant(env, NS.shell, 'CommandLine');
        assert.equal(line?.children.length, 2);
        assert.equal(child(line, NS.shell, 'Command')?.text, command);
        assert.equal(child(line, NS.shell, 'Arguments')?.text, args === '' ? 'x' : args);
        const shell = descendant(
          parseXml(createShellEnvelope(OPTS, { workingDirectory: cwd })),
          NS.shell,
          'Shell',
        );
        assert.equal(shell?.children.length, 3);
        assert.equal(child(shell, NS.shell, 'WorkingDirectory')?.text, cwd);
      }),
      runs(300),
    );
  });

  it('refuses what XML cannot carry, and identifiers that are not plain tokens', () => {
    for (const bad of ['a\u0000b', 'a\u001bb', '\ud800', 'x\uffff']) {
      assert.throws(() => commandEnvelope(OPTS, SHELL_ID, { command: bad, skipCmdShell: false }), {
        code: 'winrm_text_unencodable',
      });
    }
    for (const id of ['a"b', 'a<b', '', 'x y', `${SHELL_ID}</wsman:Selector>`]) {
      assert.throws(() => deleteShellEnvelope(OPTS, id), { code: 'winrm_reply_malformed' });
      assert.throws(() => receiveEnvelope(OPTS, SHELL_ID, id), { code: 'winrm_reply_malformed' });
    }
  });
});

describe('WinRS command lines', () => {
  it('argv is quoted for CommandLineToArgvW and run without cmd.exe; command goes through cmd', () => {
    assert.equal(quoteWindowsArg('plain'), 'plain');
    assert.equal(quoteWindowsArg(''), '""');
    assert.equal(quoteWindowsArg('a b'), '"a b"');
    assert.equal(quoteWindowsArg('say "hi"'), '"say \\"hi\\""');
    assert.equal(quoteWindowsArg('C:\\dir with space\\'), '"C:\\dir with space\\\\"');
    assert.equal(quoteWindowsArg('a\\\\"b c'), '"a\\\\\\\\\\"b c"');
    assert.equal(quoteWindowsArg('a&b|c'), 'a&b|c');
    assert.deepEqual(shellCommandOf({ argv: ['C:\\Program Files\\x.exe', 'a b', '&'] }), {
      command: '"C:\\Program Files\\x.exe"',
      args: '"a b" &',
      skipCmdShell: true,
    });
    assert.deepEqual(shellCommandOf({ command: 'dir & echo' }), {
      command: 'dir & echo',
      skipCmdShell: false,
    });
    assert.throws(() => shellCommandOf({ argv: ['a"b'] }), { code: 'winrm_text_unencodable' });
  });

  it('PowerShell runs as -EncodedCommand of the UTF-16LE script', () => {
    const script = "Get-Process | Where-Object { $_.Name -eq 'é' }";
    const line = shellCommandOf({ powershell: script });
    assert.equal(line.command, 'powershell');
    assert.equal(line.skipCmdShell, true);
    const [flags, encoded] = (line.args ?? '').split(' -EncodedCommand ');
    assert.equal(flags, '-NoProfile -NonInteractive');
    assert.equal(Buffer.from(encoded ?? '', 'base64').toString('utf16le'), script);
  });
});

describe('WinRS replies', () => {
  it('reads ShellId and CommandId by namespace URI, whatever the prefixes', () => {
    const windows = `<s:Envelope xmlns:s="${NS.soap}" xmlns:x="${NS.transfer}" xmlns:rsp="${NS.shell}"><s:Header/><s:Body><x:ResourceCreated/><rsp:Shell><rsp:ShellId>${SHELL_ID}</rsp:ShellId></rsp:Shell></s:Body></s:Envelope>`;
    assert.equal(parseCreateReply(windows), SHELL_ID);
    const other = `<env:Envelope xmlns:env="${NS.soap}" xmlns:t="${NS.transfer}" xmlns:a="${NS.wsa}" xmlns:wsman="${NS.wsman}"><env:Body><t:ResourceCreated><a:ReferenceParameters><wsman:SelectorSet><wsman:Selector Name="ShellId">${SHELL_ID}</wsman:Selector></wsman:SelectorSet></a:ReferenceParameters></t:ResourceCreated></env:Body></env:Envelope>`;
    assert.equal(parseCreateReply(other), SHELL_ID);
    // The same local names in another namespace are not WinRS's.
    const wrongNs = windows.replace(`xmlns:rsp="${NS.shell}"`, 'xmlns:rsp="urn:not-winrs"');
    assert.throws(() => parseCreateReply(wrongNs), { code: 'winrm_reply_malformed' });
    const cmd = `<S:Envelope xmlns:S="${NS.soap}"><S:Body><CommandResponse xmlns="${NS.shell}"><CommandId>${COMMAND_ID}</CommandId></CommandResponse></S:Body></S:Envelope>`;
    assert.equal(parseCommandReply(cmd), COMMAND_ID);
  });

  it('reads streams (base64, by name and CommandId, End) and the Done state with its exit code', () => {
    const reply = receiveReply(
      [
        ['stdout', 'hello '],
        ['stderr', 'warn'],
        ['stdout', 'world', true],
      ],
      { exitCode: 3 },
    );
    const got = parseReceiveReply(reply, COMMAND_ID);
    assert.deepEqual(
      got.chunks.map((c) => [c.stream, c.bytes.toString(), c.end]),
      [
        ['stdout', 'hello ', false],
        ['stderr', 'warn', false],
        ['stdout', 'world', true],
      ],
    );
    assert.equal(got.done, true);
    assert.equal(got.exitCode, 3);
    const running = parseReceiveReply(receiveReply([['stdout', 'x']]), COMMAND_ID);
    assert.equal(running.done, false);
    assert.equal(running.exitCode, undefined);
    // Another command's stream, a stream we did not ask for, or bad base64: refused.
    assert.throws(() => parseReceiveReply(reply, 'OTHER-ID'), { code: 'winrm_reply_malformed' });
    for (const bad of [
      reply.replace('Name="stderr"', 'Name="stdin"'),
      reply.replace(/>aGVs/, '>*Gvs'),
    ]) {
      assert.throws(() => parseReceiveReply(bad, COMMAND_ID), { code: 'winrm_reply_malformed' });
    }
  });

  it('maps faults to stable codes from the subcode only, never echoing their text', () => {
    const cases: [string, string, boolean][] = [
      ['w:TimedOut', 'winrm_operation_timeout', true],
      ['w:AccessDenied', 'winrm_access_denied', false],
      ['w:QuotaLimit', 'winrm_quota_exceeded', false],
      ['w:InvalidSelectors', 'winrm_shell_not_found', false],
      ['w:SomethingElse', 'winrm_fault', false],
    ];
    for (const [subcode, code, timedOut] of cases) {
      let caught: unknown;
      try {
        parseReceiveReply(faultReply(subcode, 'SECRET-PEER-TEXT <b>'), COMMAND_ID);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof WinRmFaultError, subcode);
      assert.equal(caught.code, code);
      assert.equal(caught.timedOut, timedOut);
      assert.doesNotMatch(
        JSON.stringify(caught) + caught.message + String(caught.stack),
        /SECRET-PEER-TEXT/,
      );
    }
    // The subcode is read by its namespace, not by the prefix `w`.
    const otherPrefix = faultReply('zz:TimedOut', 'x').replace('xmlns:w=', 'xmlns:zz=');
    assert.throws(() => parseReceiveReply(otherPrefix, COMMAND_ID), {
      code: 'winrm_operation_timeout',
    });
    const foreign = faultReply('w:TimedOut', 'x').replace(
      `xmlns:w="${NS.wsman}"`,
      'xmlns:w="urn:x"',
    );
    assert.throws(() => parseReceiveReply(foreign, COMMAND_ID), { code: 'winrm_fault' });
    // Windows' "shell not found" WSManFault code, whatever the subcode.
    const gone = faultReply('w:InternalError', 'x', '2150858843');
    assert.throws(() => parseReceiveReply(gone, COMMAND_ID), { code: 'winrm_shell_not_found' });
  });

  it('refuses DOCTYPEs and entities, unknown prefixes, several roots, deep nesting and oversize', () => {
    const good = receiveReply([['stdout', 'x']]);
    assert.equal(parseReceiveReply(good, COMMAND_ID).chunks.length, 1); // the control parses
    const bombs = [
      `<?xml version="1.0"?><!DOCTYPE s [<!ENTITY e "boom">]>${good.replace('<rsp:Stream', '<rsp:Stream X="&e;"')}`,
      `<!DOCTYPE x SYSTEM "file:///etc/passwd">${good}`,
      good.replace('<rsp:Stream', '<rsp:Stream X="&e;"'),
      good.replace('<rsp:Stream', '<q:Stream'),
      good + good,
      `<a>${'<b>'.repeat(100)}${'</b>'.repeat(100)}</a>`,
      good.replace('</s:Body>', '<s:Bad></s:Body>'),
      'not xml',
    ];
    for (const bomb of bombs) {
      assert.throws(
        () => parseReceiveReply(bomb, COMMAND_ID),
        (err: unknown) => {
          assert.ok(err instanceof BastionError);
          assert.equal(err.code, 'winrm_reply_malformed');
          return true;
        },
      );
    }
    const huge = good.replace('</s:Body>', `<!--${'x'.repeat(600_000)}--></s:Body>`);
    assert.throws(() => parseReceiveReply(huge, COMMAND_ID), { code: 'winrm_reply_too_large' });
    // Character references are decoded once: `&amp;lt;` is the text `&lt;`.
    const el = parseXml('<a b="&#x41;&amp;lt;">&#65;&amp;amp;&#x1F600;</a>');
    assert.equal(el.text, 'A&amp;😀');
    assert.equal(el.attrs.get('b'), 'A&lt;');
  });
});
