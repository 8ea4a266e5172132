/**
 * MIT keytab files (format 0x0502, as `ktutil` and `kadmin ktadd` write them): the broker's
 * own long-term keys. Each supported key is copied into a Secret and the file's buffer is
 * zero-filled before the parser returns, whatever happens. Entries of enctypes Bastion does
 * not speak (DES, RC4…) are skipped without copying their keys. Version 0x0501 (integers
 * in the writing host's byte order, last written by MIT krb5 1.0) is refused.
 * Layout per entry: int32 size (negative: a hole), uint16 component count, realm and
 * components as uint16-counted strings, uint32 name type, uint32 timestamp, uint8 kvno,
 * uint16 enctype, uint16-counted key, then optionally a uint32 kvno that overrides the
 * 8-bit one when non-zero.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BastionError } from '../base/errors.js';
import { Secret } from '../credentials/secret.js';
import { wipe } from './crypto/bytes.js';
import { profileOf, SUPPORTED_ENCTYPES, type KerberosKey } from './crypto/enctypes.js';
import { checkPrincipal, samePrincipal, type Principal } from './principal.js';

/** A keytab is a few keys per principal; anything past this is not one. */
export const MAX_KEYTAB_BYTES = 1 << 20;

export interface KeytabEntry {
  readonly principal: Principal;
  readonly timestamp: number;
  readonly kvno: number;
  readonly enctype: number;
}

function malformed(): BastionError {
  return new BastionError('kerberos_keytab_malformed');
}

class Reader {
  #at: number;
  constructor(
    private readonly buf: Buffer,
    at: number,
    private readonly end: number,
  ) {
    this.#at = at;
  }
  get left(): number {
    return this.end - this.#at;
  }
  take(n: number): Buffer {
    if (n < 0 || n > this.left) throw malformed();
    const out = this.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
  u8(): number {
    return this.take(1).readUInt8(0);
  }
  u16(): number {
    return this.take(2).readUInt16BE(0);
  }
  u32(): number {
    return this.take(4).readUInt32BE(0);
  }
  i32(): number {
    return this.take(4).readInt32BE(0);
  }
  text(): string {
    return this.take(this.u16()).toString('latin1');
  }
}

interface Held extends KeytabEntry {
  readonly key: Secret;
}

/** The keys of a keytab, each in a Secret; dispose when the broker stops. */
export class Keytab implements Disposable {
  readonly #held: Held[];
  /** How many entries were skipped for an enctype Bastion does not speak. */
  readonly skipped: number;

  constructor(held: Held[], skipped: number) {
    this.#held = held;
    this.skipped = skipped;
  }

  /** The entries, without their keys. */
  get entries(): readonly KeytabEntry[] {
    return this.#held.map(({ principal, timestamp, kvno, enctype }) => ({
      principal,
      timestamp,
      kvno,
      enctype,
    }));
  }

  /**
   * A copy of the key of `principal` for `enctype` — of version `kvno`, or the highest
   * version held. The caller disposes the copy. None: `kerberos_keytab_no_key`.
   */
  selectKey(principal: Principal, enctype: number, kvno?: number): KerberosKey {
    profileOf(enctype);
    const match = this.#held
      .filter((e) => e.enctype === enctype && samePrincipal(e.principal, principal))
      .filter((e) => kvno === undefined || e.kvno === kvno)
      .sort((a, b) => b.kvno - a.kvno)[0];
    if (match === undefined) throw new BastionError('kerberos_keytab_no_key');
    return { enctype, key: match.key.use((bytes) => Secret.copyOf(bytes)) };
  }

  /** Zero-fills every key. */
  dispose(): void {
    for (const e of this.#held) e.key.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function readEntry(r: Reader): Held | 'skipped' {
  const count = r.u16();
  const realm = r.text();
  const components = Array.from({ length: count }, () => r.text());
  const nameType = r.u32();
  const timestamp = r.u32();
  const kvno8 = r.u8();
  const enctype = r.u16();
  const keyBytes = r.take(r.u16());
  const kvno32 = r.left >= 4 ? r.u32() : 0;
  let principal: Principal;
  try {
    principal = checkPrincipal({ name: { nameType, components }, realm });
  } catch {
    throw malformed();
  }
  if (!SUPPORTED_ENCTYPES.includes(enctype)) return 'skipped';
  if (keyBytes.byteLength !== profileOf(enctype).keyBytes) throw malformed();
  const kvno = kvno32 !== 0 ? kvno32 : kvno8;
  return { principal, timestamp, kvno, enctype, key: Secret.copyOf(keyBytes) };
}

/** Parses a keytab; takes ownership of `file` and zero-fills it before returning or throwing. */
export function parseKeytab(file: Buffer): Keytab {
  const held: Held[] = [];
  let skipped = 0;
  try {
    if (file.byteLength > MAX_KEYTAB_BYTES) throw new BastionError('kerberos_keytab_too_large');
    if (file.byteLength < 2 || file[0] !== 0x05 || file[1] !== 0x02) {
      throw new BastionError('kerberos_keytab_version_unsupported');
    }
    const r = new Reader(file, 2, file.byteLength);
    while (r.left > 0) {
      const size = r.i32();
      if (size === 0) break; // MIT: the end of the entries
      if (size < 0) {
        r.take(-size); // a hole left by a removed entry
        continue;
      }
      const body = r.take(size);
      const entry = readEntry(new Reader(body, 0, body.byteLength));
      if (entry === 'skipped') skipped++;
      else held.push(entry);
    }
    return new Keytab(held, skipped);
  } catch (err) {
    for (const e of held) e.key.dispose();
    throw err;
  } finally {
    wipe(file);
  }
}

/**
 * Reads and parses the keytab at `path`: a regular file of mode 0600 or stricter, at most
 * MAX_KEYTAB_BYTES (both checked before a byte is read).
 */
export function readKeytab(path: string): Keytab {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    // The broker's identity, like an SSH private key: group or other access is refused.
    if (!stat.isFile() || (stat.mode & 0o077) !== 0) {
      throw new BastionError('kerberos_keytab_permissions');
    }
    const size = stat.size;
    if (size > MAX_KEYTAB_BYTES) throw new BastionError('kerberos_keytab_too_large');
    const file = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, file, at, size - at, null);
      if (n === 0) break;
      at += n;
    }
    return parseKeytab(at === size ? file : file.subarray(0, at));
  } finally {
    closeSync(fd);
  }
}
