/**
 * TEST-ONLY: reads a ticket and its session key out of an MIT FILE ccache (format 0x0504),
 * which MIT's kinit/kvno wrote in a test's temporary directory. It stands in for the
 * in-process KDC client until that lands; the broker itself never reads or writes ccaches.
 */
import { readFileSync } from 'node:fs';
import { Secret } from '../../src/credentials/secret.js';
import type { KerberosKey } from '../../src/kerberos/crypto/enctypes.js';
import type { Principal } from '../../src/kerberos/principal.js';

export interface CachedCredential {
  readonly client: Principal;
  readonly server: Principal;
  readonly sessionKey: KerberosKey;
  /** The ticket's DER. */
  readonly ticket: Buffer;
}

class Reader {
  at = 0;
  constructor(private readonly b: Buffer) {}
  get done(): boolean {
    return this.at >= this.b.byteLength;
  }
  u8(): number {
    return this.b.readUInt8((this.at += 1) - 1);
  }
  u16(): number {
    return this.b.readUInt16BE((this.at += 2) - 2);
  }
  u32(): number {
    return this.b.readUInt32BE((this.at += 4) - 4);
  }
  bytes(n: number): Buffer {
    if (this.at + n > this.b.byteLength) throw new Error('ccache truncated');
    return this.b.subarray(this.at, (this.at += n));
  }
  counted(): Buffer {
    return this.bytes(this.u32());
  }
  principal(): Principal {
    const nameType = this.u32();
    const count = this.u32();
    const realm = this.counted().toString('latin1');
    const components = Array.from({ length: count }, () => this.counted().toString('latin1'));
    return { realm, name: { nameType, components } };
  }
}

/** Every credential of a format-4 ccache (configuration entries included). */
export function readCcache(file: string): CachedCredential[] {
  const r = new Reader(readFileSync(file));
  if (r.u16() !== 0x0504) throw new Error('not a format-4 ccache');
  r.bytes(r.u16()); // header tags (time offset)
  r.principal(); // the default principal
  const out: CachedCredential[] = [];
  while (!r.done) {
    const client = r.principal();
    const server = r.principal();
    const enctype = r.u16();
    const key = Secret.copyOf(r.counted());
    r.bytes(4 * 4 + 1 + 4); // authtime, starttime, endtime, renew_till, is_skey, flags
    // addresses, then authdata: counted lists of (u16 type, counted bytes)
    for (let list = 0; list < 2; list++) {
      for (let n = r.u32(); n > 0; n--) {
        r.u16();
        r.counted();
      }
    }
    const ticket = Buffer.from(r.counted());
    r.counted(); // second ticket
    out.push({ client, server, sessionKey: { enctype, key }, ticket });
  }
  return out;
}

/** The credential for `service` (`HTTP/win1.bastion.test`), the others' keys disposed. */
export function ticketFor(file: string, service: string): CachedCredential {
  const all = readCcache(file);
  const found = all.find((c) => c.server.name.components.join('/') === service);
  for (const c of all) if (c !== found) c.sessionKey.key.dispose();
  if (found === undefined) throw new Error(`no ticket for ${service} in the ccache`);
  return found;
}
