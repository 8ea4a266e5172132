/**
 * An active AC's token: the claims built from its record (validity starting at activation,
 * the accord's command, path and SSH-login policies and Kerberos principal carried along) and their signature by
 * the broker's current key, whose use is noted before it signs.
 */
import type { AcRecord, Store, StoreEffect } from '../store/store.js';
import type { AcSigner } from '../base/signer.js';
import { type AcClaims, signAc } from './ac.js';
import type { Accord } from './accords.js';
import type { BrokerKeyring } from './keyring.js';

/** The claims an AC carries once active: validity starts at activation. */
export function claimsFor(
  record: AcRecord,
  now: number,
  { issuer, audience }: { readonly issuer: string; readonly audience: string },
  accord: Accord | undefined,
): AcClaims {
  const iat = Math.floor(now / 1000);
  return {
    iss: issuer,
    sub: record.principal_did,
    aud: audience,
    jti: record.ac_id,
    iat,
    nbf: iat,
    exp: iat + record.duration_seconds,
    cnf: { jkt: record.cnf_jkt },
    ...(record.act !== undefined ? { act: record.act } : {}),
    ctx: {
      principal_did: record.principal_did,
      capability_mask: record.capability_mask,
      capabilities: record.capabilities,
      accord_template: record.accord,
      connector: record.connector,
      target: record.target,
      ...(accord?.commands !== undefined ? { commands: accord.commands } : {}),
      ...(accord?.ssh_login !== undefined ? { ssh_principals: [accord.ssh_login] } : {}),
      ...kerberosClaim(accord, record.principal_did),
      ...(accord?.paths !== undefined ? { paths: accord.paths } : {}),
      ...(accord?.oauth !== undefined
        ? { sender_constrained: accord.oauth.sender_constrained }
        : {}),
    },
  };
}

/** The accord's Kerberos principal for `did`, when it maps one. */
function kerberosClaim(accord: Accord | undefined, did: string): { kerberos_principal?: string } {
  const principal = accord?.kerberos_principals?.get(did);
  return principal !== undefined ? { kerberos_principal: principal } : {};
}

/**
 * The key an issuance signs with and the effect that notes its use until the claims
 * expire, for the issuance's own commit; sign with `signAc(claims, signer)` once durable.
 */
export function issuanceSigner(
  claims: AcClaims,
  keyring: BrokerKeyring,
): { signer: AcSigner; effect: StoreEffect } {
  const signer = keyring.signer;
  return { signer, effect: { kind: 'note_key_use', kid: signer.kid, exp: claims.exp } };
}

/** Signs `claims` with the keyring's current key, noting the key's use until they expire. */
export async function signClaims(
  claims: AcClaims,
  keyring: BrokerKeyring,
  store: Store,
): Promise<string> {
  const signer = keyring.signer;
  await store.noteKeyUse(signer.kid, claims.exp);
  return signAc(claims, signer);
}
