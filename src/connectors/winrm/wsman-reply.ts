/**
 * What a WinRS target answers: the ShellId of a created shell, the CommandId of a started
 * command, the output and state a Receive returns, and SOAP faults. Elements are matched
 * by namespace URI (see xml.ts). A fault becomes a catalog code chosen from its WS-Man
 * subcode alone: its Reason and detail are the target's text and never reach a message or
 * a log. `w:TimedOut` on a Receive is not a failure: the long poll ended with nothing new.
 */
import { BastionError } from '../../base/errors.js';
import { child, childrenNamed, descendant, parseXml, qnameValue, type XmlElement } from './xml.js';
import { NS, checkId } from './wsman.js';

const WSMAN_FAULT_NS = 'http://schemas.microsoft.com/wbem/wsman/1/wsmanfault';
const DONE = `${NS.shell}/CommandState/Done`;
/** WSManFault codes Windows sends for a shell it no longer has (ERROR_WSMAN_…). */
const SHELL_GONE_CODES = new Set(['2150858843']);

export type WinRmFaultCode =
  | 'winrm_fault'
  | 'winrm_access_denied'
  | 'winrm_shell_not_found'
  | 'winrm_quota_exceeded'
  | 'winrm_operation_timeout';

/** A SOAP fault from the target, as a stable code; `timedOut` for WS-Man's TimedOut. */
export class WinRmFaultError extends BastionError {
  declare readonly code: WinRmFaultCode;
  constructor(
    code: WinRmFaultCode,
    readonly timedOut = false,
  ) {
    super(code);
  }
}

function faultCode(fault: XmlElement): WinRmFaultError {
  const code = child(fault, NS.soap, 'Code');
  const subcodes: string[] = [];
  for (let sub = child(code, NS.soap, 'Subcode'); sub !== undefined;) {
    const value = child(sub, NS.soap, 'Value');
    const name = value === undefined ? undefined : qnameValue(value);
    if (name !== undefined) subcodes.push(name);
    sub = child(sub, NS.soap, 'Subcode');
  }
  const detail = descendant(fault, WSMAN_FAULT_NS, 'WSManFault');
  const is = (local: string): boolean => subcodes.includes(`{${NS.wsman}}${local}`);
  if (is('TimedOut')) return new WinRmFaultError('winrm_operation_timeout', true);
  if (is('AccessDenied')) return new WinRmFaultError('winrm_access_denied');
  if (is('QuotaLimit')) return new WinRmFaultError('winrm_quota_exceeded');
  if (is('InvalidSelectors') || SHELL_GONE_CODES.has(detail?.attrs.get('Code') ?? '')) {
    return new WinRmFaultError('winrm_shell_not_found');
  }
  return new WinRmFaultError('winrm_fault');
}

/**
 * The SOAP Body of a reply; throws WinRmFaultError for a fault, WinRmReplyError for
 * anything that is not a SOAP 1.2 envelope.
 */
export function replyBody(reply: string): XmlElement {
  const root = parseXml(reply);
  const body =
    root.ns === NS.soap && root.name === 'Envelope' ? child(root, NS.soap, 'Body') : undefined;
  if (body === undefined) throw new BastionError('winrm_reply_malformed');
  const fault = child(body, NS.soap, 'Fault');
  if (fault !== undefined) throw faultCode(fault);
  return body;
}

/** Create's reply: the ShellId, from rsp:Shell or the ResourceCreated reference. */
export function parseCreateReply(reply: string): string {
  const body = replyBody(reply);
  const shellId = child(child(body, NS.shell, 'Shell'), NS.shell, 'ShellId')?.text.trim();
  if (shellId !== undefined) return checkId(shellId);
  const created = child(body, NS.transfer, 'ResourceCreated');
  const selector =
    created === undefined
      ? undefined
      : (function find(el: XmlElement): XmlElement | undefined {
          if (el.ns === NS.wsman && el.name === 'Selector' && el.attrs.get('Name') === 'ShellId')
            return el;
          for (const c of el.children) {
            const found = find(c);
            if (found !== undefined) return found;
          }
          return undefined;
        })(created);
  if (selector === undefined) throw new BastionError('winrm_reply_malformed');
  return checkId(selector.text.trim());
}

/** Command's reply: the CommandId. */
export function parseCommandReply(reply: string): string {
  const id = child(child(replyBody(reply), NS.shell, 'CommandResponse'), NS.shell, 'CommandId');
  if (id === undefined) throw new BastionError('winrm_reply_malformed');
  return checkId(id.text.trim());
}

export interface ReceivedChunk {
  readonly stream: 'stdout' | 'stderr';
  readonly bytes: Buffer;
  readonly end: boolean;
}

export interface ReceiveResult {
  readonly chunks: readonly ReceivedChunk[];
  /** True once the command's state is Done. */
  readonly done: boolean;
  /** The exit code, when Done carried one. */
  readonly exitCode: number | undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Receive's reply for `commandId`: its streams in order (base64 → bytes; streams of other
 * commands, or other names, are refused), and whether the command is Done with its exit code.
 */
export function parseReceiveReply(reply: string, commandId: string): ReceiveResult {
  const response = child(replyBody(reply), NS.shell, 'ReceiveResponse');
  if (response === undefined) throw new BastionError('winrm_reply_malformed');
  const chunks: ReceivedChunk[] = [];
  for (const stream of childrenNamed(response, NS.shell, 'Stream')) {
    const name = stream.attrs.get('Name');
    const forCommand = stream.attrs.get('CommandId');
    const text = stream.text.replace(/\s+/g, '');
    if (
      (name !== 'stdout' && name !== 'stderr') ||
      (forCommand !== undefined && forCommand.toLowerCase() !== commandId.toLowerCase()) ||
      text.length % 4 !== 0 ||
      !BASE64.test(text)
    ) {
      throw new BastionError('winrm_reply_malformed');
    }
    chunks.push({
      stream: name,
      bytes: Buffer.from(text, 'base64'),
      end: stream.attrs.get('End')?.toLowerCase() === 'true',
    });
  }
  const state = child(response, NS.shell, 'CommandState');
  const done = state?.attrs.get('State') === DONE;
  let exitCode: number | undefined;
  const exit = child(state, NS.shell, 'ExitCode')?.text.trim();
  if (done && exit !== undefined) {
    // Windows exit codes are DWORDs; some servers write them signed.
    if (!/^-?[0-9]{1,10}$/.test(exit)) throw new BastionError('winrm_reply_malformed');
    exitCode = Number(exit);
    if (exitCode > 0xffffffff || exitCode < -0x80000000)
      throw new BastionError('winrm_reply_malformed');
  }
  return { chunks, done, exitCode };
}
