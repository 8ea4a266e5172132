/**
 * WinRS replies as Windows writes them (prefixes s, w, rsp, x; a fault with its WSManFault
 * detail), for the unit tests of the envelope reader and of the shell driver.
 */
import { NS } from '../../../src/connectors/winrm/wsman.js';

export const SHELL_ID = '0A2B3C4D-1111-2222-3333-444455556666';
export const COMMAND_ID = '9F8E7D6C-AAAA-BBBB-CCCC-DDDDEEEEFFFF';

const OPEN = `<s:Envelope xmlns:s="${NS.soap}" xmlns:a="${NS.wsa}" xmlns:w="${NS.wsman}" xmlns:x="${NS.transfer}" xmlns:rsp="${NS.shell}"><s:Header><a:Action>reply</a:Action></s:Header><s:Body>`;
const CLOSE = '</s:Body></s:Envelope>';

export function createReply(shellId = SHELL_ID): string {
  return `${OPEN}<x:ResourceCreated><a:Address>${NS.wsa}</a:Address></x:ResourceCreated><rsp:Shell><rsp:ShellId>${shellId}</rsp:ShellId></rsp:Shell>${CLOSE}`;
}

export function commandReply(commandId = COMMAND_ID): string {
  return `${OPEN}<rsp:CommandResponse><rsp:CommandId>${commandId}</rsp:CommandId></rsp:CommandResponse>${CLOSE}`;
}

/** Streams `[name, text, end?]`; `done` with an exit code ends the command. */
export function receiveReply(
  streams: readonly (readonly [string, string, boolean?])[],
  done?: { exitCode: number },
): string {
  const body = streams
    .map(
      ([name, text, end]) =>
        `<rsp:Stream Name="${name}" CommandId="${COMMAND_ID}"${end === true ? ' End="true"' : ''}>${Buffer.from(text).toString('base64')}</rsp:Stream>`,
    )
    .join('');
  const state =
    done === undefined
      ? `<rsp:CommandState CommandId="${COMMAND_ID}" State="${NS.shell}/CommandState/Running"/>`
      : `<rsp:CommandState CommandId="${COMMAND_ID}" State="${NS.shell}/CommandState/Done"><rsp:ExitCode>${done.exitCode}</rsp:ExitCode></rsp:CommandState>`;
  return `${OPEN}<rsp:ReceiveResponse>${body}${state}</rsp:ReceiveResponse>${CLOSE}`;
}

export function emptyReply(): string {
  return `${OPEN}${CLOSE}`;
}

/** A SOAP fault with `subcode` (a QName), a Reason and a WSManFault detail. */
export function faultReply(subcode: string, reason: string, wsmanCode = '2150858793'): string {
  const escaped = reason.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `${OPEN}<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>${subcode}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">${escaped}</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="${wsmanCode}" Machine="win"><f:Message>${escaped}</f:Message></f:WSManFault></s:Detail></s:Fault>${CLOSE}`;
}
