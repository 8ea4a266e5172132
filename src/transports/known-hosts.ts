/**
 * OpenSSH known_hosts, read-only: the SSH transport's only source of trust in a host key.
 * There is no trust-on-first-use anywhere in Bastion: a host that is not listed is refused.
 *
 * Format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): `[@marker] hosts keytype base64 [comment]`
 * where hosts is a comma-separated list of patterns (`*`, `?`, `!negation`), `[host]:port`
 * for ports other than 22, or one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`
 * (`HashKnownHosts yes`). Markers: `@revoked` (that key is refused for matching hosts) and
 * `@cert-authority`, which is parsed but never matched: it vouches for host *certificates*,
 * and ssh2 cannot negotiate host-certificate algorithms, so such a line could never apply.
 * It is listed in `unsupportedLines` so that configuration checks can say so. Malformed
 * lines are skipped (as OpenSSH does) and listed in `invalidLines`; neither list quotes text.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type HostKeyVerdict = 'ok' | 'unknown' | 'mismatch' | 'revoked';

export type KnownHostMarker = 'revoked' | 'cert-authority';

export interface KnownHostEntry {
  /** 1-based line number in the text parsed. */
  readonly line: number;
  readonly marker?: KnownHostMarker;
  /** The key type field, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** The public key blob (SSH wire format), as a server presents it. */
  readonly key: Buffer;
  /** True when the host field is a hashed name (`|1|…`). */
  readonly hashed: boolean;
}

interface ParsedEntry extends KnownHostEntry {
  readonly matches: (name: string) => boolean;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HASH_MAGIC = '|1|';

/** The name known_hosts files use for a host and port: `host`, or `[host]:port` unless 22. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

function decodeBase64(text: string): Buffer | null {
  if (!BASE64.test(text) || text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, 'base64');
  // Buffer.from ignores trailing garbage bits; re-encoding catches non-canonical input.
  return bytes.toString('base64') === text ? bytes : null;
}

/** OpenSSH's match_pattern: `*` any run (also empty), `?` exactly one character. */
function globMatch(name: string, pattern: string): boolean {
  let n = 0;
  let p = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      n++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starN = n;
    } else if (starP >= 0) {
      p = starP + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** A matcher for the hosts field, or null when it is malformed. */
function hostMatcher(field: string): ((name: string) => boolean) | null {
  if (field.startsWith(HASH_MAGIC)) {
    const [salt64, hash64, ...rest] = field.slice(HASH_MAGIC.length).split('|');
    const salt = decodeBase64(salt64 ?? '');
    const hash = decodeBase64(hash64 ?? '');
    if (salt === null || hash === null || rest.length > 0 || hash.byteLength !== 20) return null;
    return (name) => {
      const mac = createHmac('sha1', salt).update(name).digest();
      return timingSafeEqual(mac, hash);
    };
  }
  const patterns = field.toLowerCase().split(',');
  if (patterns.some((p) => p === '' || p === '!')) return null;
  return (name) => {
    let matched = false;
    for (const pattern of patterns) {
      const negated = pattern.startsWith('!');
      if (globMatch(name, negated ? pattern.slice(1) : pattern)) {
        if (negated) return false; // a negated match rules the line out entirely
        matched = true;
      }
    }
    return matched;
  };
}

/** The key type written inside a public key blob, or null when the blob is malformed. */
function blobKeyType(blob: Buffer): string | null {
  if (blob.byteLength < 4) return null;
  const n = blob.readUInt32BE(0);
  if (n === 0 || 4 + n > blob.byteLength) return null;
  return blob.subarray(4, 4 + n).toString('latin1');
}

export class KnownHosts {
  readonly #entries: readonly ParsedEntry[];
  /** Line numbers of malformed lines (skipped). */
  readonly invalidLines: readonly number[];
  /** Line numbers of `@cert-authority` lines: parsed, never matched (see the header). */
  readonly unsupportedLines: readonly number[];

  private constructor(entries: ParsedEntry[], invalid: number[], unsupported: number[]) {
    this.#entries = entries;
    this.invalidLines = invalid;
    this.unsupportedLines = unsupported;
  }

  static parse(text: string): KnownHosts {
    const entries: ParsedEntry[] = [];
    const invalid: number[] = [];
    const unsupported: number[] = [];
    text.split(/\r?\n/).forEach((raw, index) => {
      const line = index + 1;
      const trimmed = raw.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      const fields = trimmed.split(/[ \t]+/);
      let marker: KnownHostMarker | undefined;
      if (fields[0]?.startsWith('@')) {
        const m = fields.shift();
        if (m === '@revoked') marker = 'revoked';
        else if (m === '@cert-authority') marker = 'cert-authority';
        else return void invalid.push(line);
      }
      const [hosts, keyType, key64] = fields;
      if (hosts === undefined || keyType === undefined || key64 === undefined) {
        return void invalid.push(line);
      }
      const matches = hostMatcher(hosts);
      const key = decodeBase64(key64);
      if (matches === null || key === null || blobKeyType(key) !== keyType) {
        return void invalid.push(line);
      }
      if (marker === 'cert-authority') unsupported.push(line);
      entries.push({
        line,
        ...(marker !== undefined ? { marker } : {}),
        keyType,
        key,
        hashed: hosts.startsWith(HASH_MAGIC),
        matches,
      });
    });
    return new KnownHosts(entries, invalid, unsupported);
  }

  /** The parsed entries, in file order (without their matchers). */
  get entries(): readonly KnownHostEntry[] {
    return this.#entries.map(({ matches: _m, ...entry }) => entry);
  }

  /**
   * What known_hosts says about `keyBlob` presented by `host` on `port`: `revoked` when a
   * matching `@revoked` line lists it (whatever else matches), `ok` when a matching plain
   * line lists it, `mismatch` when matching plain lines exist but none lists it (of any
   * type: a host that changed key type is treated as a changed key), else `unknown`.
   */
  check(host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
    const relevant = this.#matching(host, port);
    if (relevant.some((e) => e.marker === 'revoked' && e.key.equals(keyBlob))) return 'revoked';
    const plain = relevant.filter((e) => e.marker === undefined);
    if (plain.some((e) => e.key.equals(keyBlob))) return 'ok';
    return plain.length > 0 ? 'mismatch' : 'unknown';
  }

  /** Key types of the plain lines for `host` on `port`, for host key algorithm negotiation. */
  keyTypesFor(host: string, port: number): string[] {
    const types = this.#matching(host, port)
      .filter((e) => e.marker === undefined)
      .map((e) => e.keyType);
    return [...new Set(types)];
  }

  #matching(host: string, port: number): ParsedEntry[] {
    const name = knownHostName(host, port);
    return this.#entries.filter((e) => e.marker !== 'cert-authority' && e.matches(name));
  }
}
