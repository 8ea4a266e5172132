/**
 * Targets and target patterns. A target is a hostname, an IPv4 or IPv6 address, or an
 * http(s) URL; policy compares canonical forms only, so `DB1.Internal.Test.` and
 * `db1.internal.test` are one target, and spellings a resolver or URL parser would read
 * differently from us (`010.0.0.1`, `127.1`, `0x7f.0.0.1`, userinfo, dot segments) are
 * refused rather than guessed at.
 *
 * Patterns are canonicalised the same way, with `*` and `?` allowed (see patterns.ts), and
 * match by kind: a hostname pattern never matches an address and an address pattern never
 * matches a name, whatever the glob would say. Only an all-wildcard pattern such as `*`
 * matches every kind. URL patterns match scheme, host, port and path separately, so a `*`
 * in the host can never run into the path.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../base/errors.js';
import { globMatches, hasWildcard, MAX_PATTERN_LENGTH } from './patterns.js';

export type TargetKind = 'hostname' | 'ipv4' | 'ipv6' | 'url';

/** Longest raw target accepted; URLs may carry a path. */
export const MAX_TARGET_LENGTH = 2048;

type HostKind = 'hostname' | 'ipv4' | 'ipv6' | 'any';

interface ParsedHost {
  readonly kind: HostKind;
  /** Canonical host, bare (an IPv6 address without brackets). */
  readonly host: string;
}

interface ParsedTarget {
  readonly kind: TargetKind | 'any';
  readonly canonical: string;
  readonly host: ParsedHost;
  /** URL parts; undefined for bare hosts. */
  readonly url?: {
    readonly scheme: 'http' | 'https';
    readonly port: string;
    readonly path: string;
  };
}

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
const OCTET = /^(?:0|[1-9]\d{0,2})$/;
const DOTTED_QUAD = /^\d+\.\d+\.\d+\.\d+$/;
const IPV4_PATTERN = /^[0-9*?]+\.[0-9*?]+\.[0-9*?]+\.[0-9*?]+$/;
const ADDRESS_LIKE_PATTERN = /^[0-9.*?]+$/;
const WILDCARDS_ONLY = /^[*?]+$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// A wildcard label may stand for several labels, so only the pattern's length bounds it.
const WILDCARD_LABEL = /^[a-z0-9*?](?:[a-z0-9*?-]*[a-z0-9*?])?$/;
// A last label that is a number makes WHATWG URL parsers (and inet_aton) read the whole
// name as an IPv4 address: `127.1`, `0x7f.1`. Such a "hostname" is refused outright.
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/;
const PORT = /^[1-9]\d{0,4}$/;
const DEFAULT_PORTS = { http: '80', https: '443' } as const;
// RFC 3986 pchar plus '/': unreserved, pct-encoded, sub-delims, ':' and '@'.
const PATH_CHARS = /^[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*$/;
const PATTERN_PATH_CHARS = /^[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

function parseIPv4(text: string): string | undefined {
  if (!DOTTED_QUAD.test(text)) return undefined;
  const octets = text.split('.');
  // Leading zeros are octal to some parsers and decimal to others: refuse the ambiguity.
  if (!octets.every((octet) => OCTET.test(octet) && Number(octet) <= 255)) return undefined;
  return octets.join('.');
}

function parseIPv6(text: string): string | undefined {
  // Zone ids (`%eth0`) name an interface of this host, not a target.
  if (text.includes('%') || isIP(text) !== 6) return undefined;
  try {
    const hostname = new URL(`http://[${text}]/`).hostname;
    return hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

function parseIPv4Pattern(text: string): string | undefined {
  if (!IPV4_PATTERN.test(text)) return undefined;
  const parts = text.replace(/\*+/g, '*').split('.');
  const valid = parts.every(
    (part) => hasWildcard(part) || (OCTET.test(part) && Number(part) <= 255),
  );
  return valid ? parts.join('.') : undefined;
}

function parseHostname(text: string, wildcards: boolean): string | undefined {
  let name = text.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '' || name.length > 253) return undefined;
  const labels = name.split('.');
  const validLabel = (part: string): boolean =>
    wildcards && hasWildcard(part) ? WILDCARD_LABEL.test(part) : LABEL.test(part);
  if (!labels.every(validLabel)) return undefined;
  const last = labels[labels.length - 1] ?? '';
  if (NUMERIC_LABEL.test(last)) return undefined;
  return wildcards ? name.replace(/\*+/g, '*') : name;
}

function parseHost(text: string, wildcards: boolean): ParsedHost | undefined {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) return undefined;
    const v6 = parseIPv6(text.slice(1, -1));
    return v6 === undefined ? undefined : { kind: 'ipv6', host: v6 };
  }
  if (text.includes(':')) {
    const v6 = parseIPv6(text);
    return v6 === undefined ? undefined : { kind: 'ipv6', host: v6 };
  }
  if (wildcards && hasWildcard(text)) {
    if (WILDCARDS_ONLY.test(text)) return { kind: 'any', host: text.replace(/\*+/g, '*') };
    // Digits, dots and wildcards only: an address pattern, which must spell four octets
    // (`10.*.*.*`, not `10.*`) so that no `*` can stand for more than one octet.
    if (ADDRESS_LIKE_PATTERN.test(text)) {
      const v4 = parseIPv4Pattern(text);
      return v4 === undefined ? undefined : { kind: 'ipv4', host: v4 };
    }
    const name = parseHostname(text, true);
    return name === undefined ? undefined : { kind: 'hostname', host: name };
  }
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { kind: 'ipv4', host: v4 };
  const name = parseHostname(text, false);
  return name === undefined ? undefined : { kind: 'hostname', host: name };
}

/**
 * Normalises percent-encoding (RFC 3986 §6.2.2): uppercase hex, unreserved bytes decoded.
 * Undefined for a malformed escape, and (with `refuseOverlong`) for `%C0`/`%C1`, which
 * only start overlong UTF-8 (`%C0%AE` is a `.` to some old servers).
 */
export function normalisePercent(
  path: string,
  options: { refuseOverlong?: boolean } = {},
): string | undefined {
  let out = '';
  for (let i = 0; i < path.length; i += 1) {
    const char = path[i] ?? '';
    if (char !== '%') {
      out += char;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    if (options.refuseOverlong === true && /^[cC][01]$/.test(hex)) return undefined;
    const decoded = String.fromCharCode(parseInt(hex, 16));
    out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return out;
}

function parsePath(raw: string, wildcards: boolean): string | undefined {
  if (raw === '') return '';
  if (!(wildcards ? PATTERN_PATH_CHARS : PATH_CHARS).test(raw)) return undefined;
  let path = normalisePercent(raw);
  if (path === undefined) return undefined;
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path === '') return '';
  // Empty and dot segments are resolved differently by different servers; refuse them so
  // that `/api/*` cannot be escaped with `/api/../admin`.
  const segments = path.slice(1).split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return undefined;
  }
  return wildcards ? path.replace(/\*+/g, '*') : path;
}

function parseUrl(raw: string, wildcards: boolean): ParsedTarget | undefined {
  const match = /^(https?):\/\/([^/]*)(.*)$/i.exec(raw);
  if (match === null) return undefined;
  const scheme = (match[1] ?? '').toLowerCase() as 'http' | 'https';
  const authority = match[2] ?? '';
  const rawPath = match[3] ?? '';
  // No userinfo (credentials in a target are never wanted), no fragment; in a target `?`
  // would start a query, which policy does not look at, so it is refused too.
  if (authority.includes('@') || raw.includes('#') || raw.includes('\\')) return undefined;
  if (!wildcards && raw.includes('?')) return undefined;
  let hostText = authority;
  let port = '';
  const portMatch = /^(\[[^\]]*\]|[^:]*):([^:]*)$/.exec(authority);
  if (portMatch !== null) {
    hostText = portMatch[1] ?? '';
    port = portMatch[2] ?? '';
    if (!PORT.test(port) || Number(port) > 65535) return undefined;
    if (port === DEFAULT_PORTS[scheme]) port = '';
  }
  if (hostText === '') return undefined;
  const host = parseHost(hostText, wildcards);
  if (host === undefined) return undefined;
  const path = parsePath(rawPath, wildcards);
  if (path === undefined) return undefined;
  const hostForm = host.kind === 'ipv6' ? `[${host.host}]` : host.host;
  const canonical = `${scheme}://${hostForm}${port === '' ? '' : `:${port}`}${path}`;
  return { kind: 'url', canonical, host, url: { scheme, port, path } };
}

function parse(raw: unknown, wildcards: boolean): ParsedTarget | undefined {
  if (typeof raw !== 'string') return undefined;
  const limit = wildcards ? MAX_PATTERN_LENGTH : MAX_TARGET_LENGTH;
  // Printable ASCII only: no spaces, no control characters, no IDN (punycode is ASCII).
  if (raw.length > limit || !PRINTABLE_ASCII.test(raw)) return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return parseUrl(raw, wildcards);
  const host = parseHost(raw, wildcards);
  if (host === undefined) return undefined;
  return { kind: host.kind, canonical: host.host, host };
}

/** The canonical form of a target; throws InvalidArgumentError('target') when invalid. */
export function canonicalTarget(raw: string): string {
  const parsed = parse(raw, false);
  if (parsed === undefined) throw new InvalidArgumentError('target');
  return parsed.canonical;
}

/** The kind of a valid target, or undefined when `raw` is not one. */
export function targetKind(raw: string): TargetKind | undefined {
  const parsed = parse(raw, false);
  return parsed === undefined ? undefined : (parsed.kind as TargetKind);
}

/** True when `raw` is a valid target pattern. */
export function isTargetPattern(raw: unknown): raw is string {
  return parse(raw, true) !== undefined;
}

/** The canonical form of a pattern; throws InvalidArgumentError('target pattern'). */
export function canonicalTargetPattern(raw: string): string {
  return parsedPattern(raw).canonical;
}

const PATTERN_CACHE_LIMIT = 4096;
const patternCache = new Map<string, ParsedTarget>();

function parsedPattern(pattern: string): ParsedTarget {
  let parsed = patternCache.get(pattern);
  if (parsed === undefined) {
    parsed = parse(pattern, true);
    if (parsed === undefined) throw new InvalidArgumentError('target pattern');
    if (patternCache.size >= PATTERN_CACHE_LIMIT) patternCache.clear();
    patternCache.set(pattern, parsed);
  }
  return parsed;
}

function globOrEqual(pattern: string, value: string): boolean {
  return hasWildcard(pattern) ? globMatches(pattern, value) : pattern === value;
}

function hostMatches(pattern: ParsedHost, host: ParsedHost): boolean {
  if (pattern.kind === 'any') return globMatches(pattern.host, host.host);
  return pattern.kind === host.kind && globOrEqual(pattern.host, host.host);
}

/**
 * The bare host of a canonical target (an IPv6 address without brackets); undefined when
 * `canonical` is not a target in canonical form.
 */
export function targetHost(canonical: string): string | undefined {
  const t = parse(canonical, false);
  return t === undefined || t.canonical !== canonical ? undefined : t.host.host;
}

/**
 * True when `pattern` matches `canonical` and spells its host literally, without a
 * wildcard: the only way an accord grants a refused host (refused-hosts.ts).
 */
export function patternNamesHost(pattern: string, canonical: string): boolean {
  if (!targetMatches(pattern, canonical)) return false;
  const { host } = parsedPattern(pattern);
  return host.kind !== 'any' && !hasWildcard(host.host);
}

/**
 * True when target `canonical` (a canonicalTarget result) falls under `pattern`. A target
 * that is invalid or not in canonical form never matches (fail closed); an invalid pattern
 * throws InvalidArgumentError('target pattern'), since configuration should have refused it.
 */
export function targetMatches(pattern: string, canonical: string): boolean {
  const p = parsedPattern(pattern);
  const t = parse(canonical, false);
  // Callers must canonicalise first; anything else fails closed rather than matching a
  // spelling that may be carried on, un-normalised, into an AC.
  if (t === undefined || t.canonical !== canonical) return false;
  if (p.kind === 'any') return globMatches(p.canonical, t.canonical);
  if (p.kind !== t.kind) return false;
  if (p.url === undefined || t.url === undefined) return hostMatches(p.host, t.host);
  return (
    p.url.scheme === t.url.scheme &&
    p.url.port === t.url.port &&
    hostMatches(p.host, t.host) &&
    globOrEqual(p.url.path, t.url.path)
  );
}
