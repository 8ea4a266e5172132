/**
 * What the zero-credential proof looks for, by kind, and the controls that prove each scan
 * sees each kind. Real needles come from the secrets the broker handled (the SSH keys its
 * dev backend reported, the tokens the APIs received, the grants the Bascule proxy saw,
 * the secret keys and session tokens STS issued, the Kerberos tickets and keys a wire tap
 * recovered with the target's keytab, the ACs the principal held); controls are
 * the same kinds made from secrets the broker never saw, labelled `control: <kind>`, and
 * planted in what each scan reads — so a scan that stops looking for a kind, or cannot see
 * it where it looks, fails.
 */
import assert from 'node:assert/strict';
import { DevBackend } from '../../src/backends/dev/dev-backend.js';
import { opensshSeedFromPem } from '../../src/ssh/private-key.js';
import { sshString } from '../../src/ssh/wire.js';
import { acFor } from './backends.js';
import { newMarker } from './leak.js';
import { encodings, type Needle, needle } from './scan.js';

export type Kind =
  | 'marker'
  | 'ssh key PEM'
  | 'ssh key seed'
  | 'ssh key comment'
  | 'oauth token'
  | 'oauth token signature'
  | 'oauth token tag'
  | 'bascule grant'
  | 'bascule grant signature'
  | 'aws secret key'
  | 'aws session token'
  | 'kerberos ticket'
  | 'kerberos key'
  | 'dpop key seed'
  | 'AC'
  | 'AC signature'
  | 'agent key PEM'
  | 'agent key seed';

/** What the broker must never keep, log or return: every kind but the caller's own. */
export const CREDENTIAL_KINDS: readonly Kind[] = [
  'marker',
  'ssh key PEM',
  'ssh key seed',
  'ssh key comment',
  'oauth token',
  'oauth token signature',
  'oauth token tag',
  'bascule grant',
  'bascule grant signature',
  'aws secret key',
  'aws session token',
  'kerberos ticket',
  'kerberos key',
  'dpop key seed',
];

/** In the broker's memory: all but the bare marker, which it holds in its environment. */
export const MEMORY_KINDS: readonly Kind[] = CREDENTIAL_KINDS.filter((k) => k !== 'marker');

const CONTROL = 'control: ';

function kindOf(label: string): string {
  return label.replace(CONTROL, '').replace(/ \[.*\]$/, '');
}

export class NeedleBook {
  readonly #real: Needle[] = [];
  readonly #control: Needle[] = [];

  /** A secret the broker handled; `source` names where it came from, for failures. */
  add(kind: Kind, value: string | Buffer, source?: string): void {
    this.#real.push(needle(source === undefined ? kind : `${kind} [${source}]`, value));
  }

  /** A secret of `kind` the broker never saw, to plant. */
  addControl(kind: Kind, value: string | Buffer): void {
    this.#control.push(needle(CONTROL + kind, value));
  }

  /** An OpenSSH private key: the PEM and its 32-byte seed (`source` "control" for a control). */
  sshKey(pem: Buffer, source: string): void {
    const seed = opensshSeedFromPem(pem);
    if (source === 'control') {
      this.addControl('ssh key PEM', pem);
      this.addControl('ssh key seed', seed);
    } else {
      this.add('ssh key PEM', pem, source);
      this.add('ssh key seed', seed, source);
    }
  }

  /** A JWT, whole and its signature alone (a leak of its last part); "control" as for sshKey. */
  jwt(kind: 'oauth token' | 'bascule grant' | 'AC', token: string, source: string): void {
    const signature = token.split('.')[2] ?? token;
    const signatureKind = `${kind} signature` as Kind;
    if (source === 'control') {
      this.addControl(kind, token);
      this.addControl(signatureKind, signature);
    } else {
      this.add(kind, token, source);
      this.add(signatureKind, signature, source);
    }
  }

  /** How many real needles of `kind` there are. */
  count(kind: Kind): number {
    return this.#real.filter((n) => kindOf(n.label) === kind).length;
  }

  /** The real needles of `kinds`, and their controls. */
  needles(kinds: readonly Kind[]): Needle[] {
    return [...this.#real, ...this.#control].filter((n) => kinds.includes(kindOf(n.label) as Kind));
  }

  /** The control needles of `kinds`. */
  controls(kinds: readonly Kind[]): Needle[] {
    return this.#control.filter((n) => kinds.includes(kindOf(n.label) as Kind));
  }

  /**
   * One haystack holding every control of `kinds`, each in another of its encodings (and
   * the textual ones wrapped as a PEM would be, escaped as in JSON), between noise.
   */
  planted(kinds: readonly Kind[]): Buffer {
    return Buffer.concat(
      this.controls(kinds).map((n, i) => {
        const forms = encodings(n.bytes);
        const form = forms[i % forms.length] ?? n.bytes;
        const text = i % forms.length === 0 ? form : wrapped(form);
        return Buffer.concat([Buffer.from(`{"noise":"${i}","x":"`), text, Buffer.from('"}\n')]);
      }),
    );
  }

  /** Fails unless `found` holds a control of each of `kinds` (the scan is not blind). */
  expectControls(found: readonly string[], kinds: readonly Kind[], where: string): void {
    const missing = kinds.filter((k) => !found.includes(CONTROL + k));
    assert.deepEqual(missing, [], `${where}: the scan misses a planted control of these kinds`);
  }

  /** Fails if `found` holds anything real. */
  expectNoCredential(found: readonly string[], where: string): void {
    const real = found.filter((l) => !l.startsWith(CONTROL));
    assert.deepEqual(real, [], `${where} holds a credential`);
  }

  /** Both: a haystack with controls planted in it. */
  expectClean(found: readonly string[], kinds: readonly Kind[], where: string): void {
    this.expectNoCredential(found, where);
    this.expectControls(found, kinds, where);
  }
}

/** The marked comment inside a dev SSH key (BASTION_DEV_CREDENTIAL_MARKER): an SSH string. */
export function keyComment(marker: string): Buffer {
  return sshString(`bastion-ephemeral ${marker}`);
}

/**
 * Controls of the marker and the SSH key kinds, from a dev backend of a fresh marker that no
 * broker saw; returns both, for controls of other kinds.
 */
export async function addSshKeyControls(
  book: NeedleBook,
): Promise<{ marker: string; dev: DevBackend }> {
  const marker = newMarker();
  const dev = await DevBackend.create({ marker });
  const key = await dev.resolve('ssh_cert', 'control.test', acFor('control.test', Date.now()));
  book.addControl('marker', marker);
  book.addControl('ssh key comment', keyComment(marker));
  book.sshKey(key.privateKey.unsafeReveal(), 'control');
  return { marker, dev };
}

/** Textual bytes broken into 64-character lines with JSON's `\n` escape. */
function wrapped(text: Buffer): Buffer {
  const s = text.toString('latin1');
  return Buffer.from(s.replace(/(.{64})/g, '$1\\n'), 'latin1');
}
