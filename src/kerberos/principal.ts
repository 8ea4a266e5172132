/**
 * Kerberos principal names (RFC 4120 §6.2): a name type, components and a realm, and
 * their text form `comp1/comp2@REALM`. Components and realms are restricted to printable
 * ASCII without `/`, `@` or `\` (no escaping): every name Bastion maps a principal to is of
 * that form, and a narrower alphabet is one less way to confuse two names.
 */
import { BastionError } from '../base/errors.js';

/** Name types of RFC 4120 §6.2 (and MS-SFU's enterprise name). */
export const NAME_TYPE = {
  unknown: 0,
  principal: 1,
  srv_inst: 2,
  srv_hst: 3,
  enterprise: 10,
} as const;

export interface PrincipalName {
  readonly nameType: number;
  readonly components: readonly string[];
}

export interface Principal {
  readonly name: PrincipalName;
  readonly realm: string;
}

const COMPONENT = /^[\x20-\x7e]+$/;
const MAX_COMPONENTS = 8;
const MAX_LENGTH = 255;

/** True for a component or realm Bastion accepts. */
export function isNamePart(part: string): boolean {
  return part.length <= MAX_LENGTH && COMPONENT.test(part) && !/[/@\\]/.test(part);
}

function invalid(): BastionError {
  return new BastionError('kerberos_principal_invalid');
}

/**
 * A user principal's text as an accord maps a did:key to it: `name@REALM`, exactly one `@`,
 * a realm of A-Z, 0-9, `.` and `-`, a name of printable ASCII without `/` (so never a
 * service such as `krbtgt/…` or `host/…`), `\\`, or the wildcards `*` and `?`.
 */
const USER_PRINCIPAL = /^(?:(?![/@\\*?])[\x21-\x7e]){1,255}@[A-Z0-9.-]{1,255}$/;

export function isUserPrincipalText(text: unknown): text is string {
  return typeof text === 'string' && USER_PRINCIPAL.test(text);
}

/** Checks a principal's parts; returns it. */
export function checkPrincipal(principal: Principal): Principal {
  const { components } = principal.name;
  if (components.length === 0 || components.length > MAX_COMPONENTS) throw invalid();
  if (!components.every(isNamePart) || !isNamePart(principal.realm)) throw invalid();
  return principal;
}

/** `a/b@REALM` → a principal of `nameType` (NT-PRINCIPAL unless said otherwise). */
export function parsePrincipal(text: string, nameType: number = NAME_TYPE.principal): Principal {
  const at = text.lastIndexOf('@');
  if (at <= 0) throw invalid();
  const components = text.slice(0, at).split('/');
  return checkPrincipal({ name: { nameType, components }, realm: text.slice(at + 1) });
}

/** The text form, `a/b@REALM`. */
export function formatPrincipal(principal: Principal): string {
  return `${principal.name.components.join('/')}@${principal.realm}`;
}

/** Same components and realm (the name type does not take part, as in MIT's comparison). */
export function samePrincipal(a: Principal, b: Principal): boolean {
  return (
    a.realm === b.realm &&
    a.name.components.length === b.name.components.length &&
    a.name.components.every((c, i) => c === b.name.components[i])
  );
}

/** The default salt of RFC 4120 §4: the realm, then every component, concatenated. */
export function defaultSalt(principal: Principal): Buffer {
  return Buffer.from(principal.realm + principal.name.components.join(''), 'latin1');
}
