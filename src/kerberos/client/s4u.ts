/**
 * Constrained delegation (MS-SFU §3.2.5): S4U2Self — a TGS-REQ to the broker itself with
 * PA-FOR-USER naming the user — gives an evidence ticket for the user to the broker, which
 * must be FORWARDABLE (a KDC issues it otherwise when the user may not be delegated, or the
 * broker may not delegate from any authentication protocol); S4U2Proxy — a TGS-REQ for the
 * target SPN with cname-in-addl-tkt and the evidence ticket in additional-tickets — gives
 * the service ticket for the user to the target. No PA-PAC-OPTIONS is sent: MIT 1.20's
 * LDAP-backed delegation (krbAllowedToDelegateTo) needs none, and its resource-based bit
 * must stay off. The evidence ticket's session key is never used and disposed at once.
 */
import { BastionError } from '../../base/errors.js';
import type { KerberosKey } from '../crypto/enctypes.js';
import { flags, hasFlags, KDC_OPTION, TICKET_FLAG } from '../messages/constants.js';
import type { EncKdcRepPart } from '../messages/kdc-rep.js';
import { paForUser } from '../messages/pa-for-user.js';
import type { Ticket } from '../messages/ticket.js';
import { samePrincipal, type Principal } from '../principal.js';
import type { Tgt } from './as.js';
import type { KdcClientOptions } from './session.js';
import { tgsExchange, type TgsReply } from './tgs.js';

/** A service ticket for `client` to `server`, with its session key (a Secret). */
export interface ServiceTicket {
  readonly client: Principal;
  readonly server: Principal;
  readonly ticket: Ticket;
  readonly part: EncKdcRepPart;
  readonly sessionKey: KerberosKey;
}

function checkClient(reply: TgsReply, user: Principal): void {
  const who = { name: reply.rep.cname, realm: reply.rep.crealm };
  if (!samePrincipal(who, user)) {
    reply.sessionKey.key.dispose();
    throw new BastionError('kerberos_reply_mismatch', { details: ['cname'] });
  }
}

/** S4U2Self: the evidence ticket for `user` to the broker (forwardable, or refused). */
export async function s4u2self(
  tgt: Tgt,
  user: Principal,
  options: KdcClientOptions,
): Promise<Ticket> {
  const reply = await tgsExchange(
    tgt,
    {
      sname: tgt.client.name,
      kdcOptions: flags(KDC_OPTION, 'forwardable'),
      padata: [paForUser(user, tgt.sessionKey)],
      step: 's4u2self',
    },
    options,
  );
  checkClient(reply, user);
  reply.sessionKey.key.dispose(); // the evidence ticket is only ever passed on
  if (!hasFlags(reply.part.flags, TICKET_FLAG.forwardable)) {
    throw new BastionError('kerberos_not_delegatable');
  }
  return reply.rep.ticket;
}

/** S4U2Proxy: the service ticket for the evidence ticket's user to `spn`. */
export async function s4u2proxy(
  tgt: Tgt,
  evidence: Ticket,
  user: Principal,
  spn: Principal,
  options: KdcClientOptions,
): Promise<ServiceTicket> {
  const reply = await tgsExchange(
    tgt,
    {
      sname: spn.name,
      kdcOptions: flags(KDC_OPTION, 'forwardable', 'cname_in_addl_tkt'),
      additionalTickets: [evidence],
      step: 's4u2proxy',
    },
    options,
  );
  checkClient(reply, user);
  return {
    client: user,
    server: spn,
    ticket: reply.rep.ticket,
    part: reply.part,
    sessionKey: reply.sessionKey,
  };
}
