/**
 * The names the kerberos backend's settings hold, checked in one place: the broker's own
 * service principal, the SPNs it may delegate to, a service class, and the KDC addresses.
 * Narrow on purpose: an SPN is `service/host` without wildcard or realm, and never the
 * KDC's own `krbtgt` — a ticket to the TGS for a user would be that user's TGT, which is
 * exactly what constrained delegation exists to withhold.
 */
import type { KdcAddress } from '../../kerberos/client/transport.js';

const SERVICE = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$/;
const REALM = /^[A-Z0-9.-]{1,255}$/;
const KDC = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|([A-Za-z0-9][A-Za-z0-9.-]{0,252}))(?::(\d{1,5}))?$/;
/** RFC 4120 §7.2.3: the KDC's port. */
export const KERBEROS_PORT = 88;

/** A service class (`WSMAN`, `HTTP`, `host`), never `krbtgt`. */
export function isServiceClass(value: unknown): value is string {
  return typeof value === 'string' && SERVICE.test(value) && value.toLowerCase() !== 'krbtgt';
}

/** `service/host`, no realm, no wildcard, not `krbtgt/…`. */
export function isSpn(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const [service, host, ...rest] = value.split('/');
  return rest.length === 0 && isServiceClass(service) && host !== undefined && HOST.test(host);
}

/** The broker's own principal: `service/host@REALM`. */
export function isServicePrincipal(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const at = value.indexOf('@');
  return at > 0 && isSpn(value.slice(0, at)) && REALM.test(value.slice(at + 1));
}

/** `host:port`, `[v6]:port` or `host` (port 88); undefined when it is none of these. */
export function parseKdcAddress(value: unknown): KdcAddress | undefined {
  const m = typeof value === 'string' ? KDC.exec(value) : null;
  if (m === null) return undefined;
  const port = m[3] === undefined ? KERBEROS_PORT : Number(m[3]);
  if (!(port >= 1 && port <= 65535)) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}
