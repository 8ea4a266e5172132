/**
 * An AC is only as good as the accord behind it now. At every invocation the AC is checked
 * again against its accord as it stands — after an edit and a reload, or a restart — so
 * that removing an accord, a principal or a delegate, or narrowing its connectors, targets
 * or capabilities, stops live ACs at once. (The command and path policies are checked by the
 * session against both the AC's own snapshot and the accord's current policy.)
 */
import type { AcContext } from '../credentials/types.js';
import { type Accord, targetRuleBroken } from './accords.js';
import { capabilityMask } from './capabilities.js';
import { InvocationDeniedError } from './denials.js';

/** The accord the AC was issued under, if it still allows the AC; throws the broken rule. */
export function recheckAc(accords: ReadonlyMap<string, Accord>, ac: AcContext): Accord {
  const accord = accords.get(ac.accord_template);
  if (accord === undefined) throw new InvocationDeniedError('accord_changed');
  if (!accord.principals.includes(ac.principal_did)) {
    throw new InvocationDeniedError('principal_not_allowed');
  }
  if (ac.act !== undefined && !(accord.delegates ?? []).includes(ac.act.sub)) {
    throw new InvocationDeniedError('delegation_not_allowed');
  }
  if (!accord.connectors.includes(ac.connector))
    throw new InvocationDeniedError('connector_not_allowed');
  const targetRule = targetRuleBroken(accord, ac.target);
  if (targetRule !== undefined) throw new InvocationDeniedError(targetRule);
  const allowed = capabilityMask(accord.capabilities);
  if ((ac.capability_mask & ~allowed) !== 0)
    throw new InvocationDeniedError('capability_not_granted');
  // The login an SSH certificate is issued for is the accord's: a changed login is a new grant.
  const login = ac.ssh_principals?.[0];
  if (login !== undefined && accord.ssh_login !== login) {
    throw new InvocationDeniedError('accord_changed');
  }
  // So is the Kerberos principal a ticket is issued for: a changed mapping is a new grant.
  const kerberos = ac.kerberos_principal;
  if (kerberos !== undefined && accord.kerberos_principals?.get(ac.principal_did) !== kerberos) {
    throw new InvocationDeniedError('accord_changed');
  }
  // And whether an OAuth token may be a bearer token: a loosened rule is a new grant.
  if (ac.sender_constrained !== accord.oauth?.sender_constrained) {
    throw new InvocationDeniedError('accord_changed');
  }
  return accord;
}
