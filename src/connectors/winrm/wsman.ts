/**
 * The requests of a WinRS shell (MS-WSMV §3.1.4.1: Create, Command, Receive, Signal,
 * Delete) as SOAP 1.2 envelopes of WS-Management (DMTF DSP0226). Pure text, no transport:
 * whoever sends them adds authentication and message encryption. Every value that comes
 * from a caller (the command, its arguments, the working directory) goes through
 * `xmlText`, and the identifiers the target gave us are checked to be plain tokens, so no
 * input can add or close an element.
 */
import { randomUUID } from 'node:crypto';
import { BastionError } from '../../base/errors.js';
import { MAX_ENVELOPE_BYTES, xmlText } from './xml.js';

export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsman: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  wsmv: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  shell: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  transfer: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
} as const;

export const CMD_SHELL_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd';
const ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';

export const ACTIONS = {
  create: `${NS.transfer}/Create`,
  delete: `${NS.transfer}/Delete`,
  command: `${NS.shell}/Command`,
  receive: `${NS.shell}/Receive`,
  signal: `${NS.shell}/Signal`,
} as const;

export const SIGNALS = {
  terminate: `${NS.shell}/signal/terminate`,
  ctrl_c: `${NS.shell}/signal/ctrl_c`,
} as const;

/** Where the envelope goes and how long the target may hold it. */
export interface EnvelopeOptions {
  /** The listener's URL, e.g. `http://host:5985/wsman` (`wsa:To`). */
  readonly to: string;
  /** `wsman:OperationTimeout`, in whole seconds (Receive's long poll). */
  readonly operationTimeoutSeconds: number;
  /** `wsman:Locale` (default en-US). */
  readonly locale?: string;
  /** For tests: the message id, else a fresh uuid. */
  readonly messageId?: string;
}

/** ShellIds and CommandIds are GUIDs on Windows; anything else is refused, never embedded. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:{}-]{0,127}$/;

export function checkId(id: string): string {
  if (!ID.test(id)) throw new BastionError('winrm_reply_malformed');
  return id;
}

/** ISO 8601 duration of whole seconds (`PT20S`), within WS-Man's sane range. */
export function isoSeconds(seconds: number): string {
  const s = Math.min(Math.max(Math.floor(seconds), 1), 3600);
  return `PT${s}S`;
}

function envelope(
  opts: EnvelopeOptions,
  action: string,
  body: string,
  extraHeaders: string = '',
): string {
  const messageId = opts.messageId ?? `uuid:${randomUUID().toUpperCase()}`;
  const locale = opts.locale ?? 'en-US';
  if (!/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(locale)) throw new TypeError('bad locale');
  return (
    `<?xml version="1.0" encoding="utf-8"?>` +
    `<s:Envelope xmlns:s="${NS.soap}" xmlns:wsa="${NS.wsa}" xmlns:wsman="${NS.wsman}" ` +
    `xmlns:p="${NS.wsmv}" xmlns:rsp="${NS.shell}">` +
    `<s:Header>` +
    `<wsa:To>${xmlText(opts.to)}</wsa:To>` +
    `<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">${ANONYMOUS}</wsa:Address></wsa:ReplyTo>` +
    `<wsa:Action s:mustUnderstand="true">${action}</wsa:Action>` +
    `<wsa:MessageID>${xmlText(messageId)}</wsa:MessageID>` +
    `<wsman:ResourceURI s:mustUnderstand="true">${CMD_SHELL_URI}</wsman:ResourceURI>` +
    `<wsman:MaxEnvelopeSize s:mustUnderstand="true">${MAX_ENVELOPE_BYTES}</wsman:MaxEnvelopeSize>` +
    `<wsman:OperationTimeout>${isoSeconds(opts.operationTimeoutSeconds)}</wsman:OperationTimeout>` +
    `<wsman:Locale xml:lang="${locale}" s:mustUnderstand="false"/>` +
    `<p:DataLocale xml:lang="${locale}" s:mustUnderstand="false"/>` +
    extraHeaders +
    `</s:Header>` +
    `<s:Body>${body}</s:Body>` +
    `</s:Envelope>`
  );
}

function options(values: Readonly<Record<string, string>>): string {
  const items = Object.entries(values)
    .map(([name, value]) => `<wsman:Option Name="${name}">${value}</wsman:Option>`)
    .join('');
  return `<wsman:OptionSet>${items}</wsman:OptionSet>`;
}

function selector(shellId: string): string {
  return `<wsman:SelectorSet><wsman:Selector Name="ShellId">${checkId(shellId)}</wsman:Selector></wsman:SelectorSet>`;
}

/** Create: a cmd shell, no user profile, UTF-8 code page (65001), stdin and stdout/stderr. */
export function createShellEnvelope(
  opts: EnvelopeOptions,
  shell: { workingDirectory?: string } = {},
): string {
  const cwd =
    shell.workingDirectory !== undefined
      ? `<rsp:WorkingDirectory>${xmlText(shell.workingDirectory)}</rsp:WorkingDirectory>`
      : '';
  return envelope(
    opts,
    ACTIONS.create,
    `<rsp:Shell>${cwd}<rsp:InputStreams>stdin</rsp:InputStreams>` +
      `<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`,
    options({ WINRS_NOPROFILE: 'TRUE', WINRS_CODEPAGE: '65001' }),
  );
}

/**
 * Command: `command` with `args` as one Arguments string (already quoted for the target's
 * command-line parser). `skipCmdShell` runs the program directly (CreateProcess), so
 * cmd.exe never reads the line: true for argv and PowerShell, false for a `command` line.
 */
export function commandEnvelope(
  opts: EnvelopeOptions,
  shellId: string,
  command: { command: string; args?: string; skipCmdShell: boolean },
): string {
  const args = command.args !== undefined && command.args !== '' ? command.args : undefined;
  return envelope(
    opts,
    ACTIONS.command,
    `<rsp:CommandLine><rsp:Command>${xmlText(command.command)}</rsp:Command>` +
      (args !== undefined ? `<rsp:Arguments>${xmlText(args)}</rsp:Arguments>` : '') +
      `</rsp:CommandLine>`,
    selector(shellId) +
      options({
        WINRS_CONSOLEMODE_STDIN: 'TRUE',
        WINRS_SKIP_CMD_SHELL: command.skipCmdShell ? 'TRUE' : 'FALSE',
      }),
  );
}

/** Receive: the command's stdout and stderr, as far as the target has them. */
export function receiveEnvelope(opts: EnvelopeOptions, shellId: string, commandId: string): string {
  return envelope(
    opts,
    ACTIONS.receive,
    `<rsp:Receive><rsp:DesiredStream CommandId="${checkId(commandId)}">stdout stderr</rsp:DesiredStream></rsp:Receive>`,
    selector(shellId) + options({ WSMAN_CMDSHELL_OPTION_KEEPALIVE: 'TRUE' }),
  );
}

/** Signal: terminate (or ctrl_c) the command. */
export function signalEnvelope(
  opts: EnvelopeOptions,
  shellId: string,
  commandId: string,
  code: keyof typeof SIGNALS = 'terminate',
): string {
  return envelope(
    opts,
    ACTIONS.signal,
    `<rsp:Signal CommandId="${checkId(commandId)}"><rsp:Code>${SIGNALS[code]}</rsp:Code></rsp:Signal>`,
    selector(shellId),
  );
}

/** Delete: the shell, and whatever still runs in it. */
export function deleteShellEnvelope(opts: EnvelopeOptions, shellId: string): string {
  return envelope(opts, ACTIONS.delete, '', selector(shellId));
}
