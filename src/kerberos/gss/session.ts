/**
 * An established initiator context (RFC 4121 §4.2): the key wrap tokens use (the acceptor's
 * subkey when its AP-REP carried one, else the initiator's), and the two sequence numbers.
 * Wrap seals with the initiator's usage and the next send number; unwrap takes only sealed
 * tokens from the acceptor with exactly the next expected number, so a replayed, reordered
 * or dropped message is refused. The key lives in a Secret until `dispose`.
 */
import { BastionError } from '../../base/errors.js';
import type { KerberosKey } from '../crypto/enctypes.js';
import {
  GSS_USAGE,
  WRAP_FLAG,
  openWrapToken,
  readWrapHeader,
  sealWrapToken,
  type WrappedMessage,
} from './wrap.js';

export class GssSession {
  #sendSequence: bigint;
  #receiveSequence: bigint;

  constructor(
    private readonly key: KerberosKey,
    /** True when `key` is the acceptor's subkey (the AcceptorSubkey flag of every token). */
    readonly acceptorSubkey: boolean,
    sendSequence: bigint,
    receiveSequence: bigint,
  ) {
    this.#sendSequence = sendSequence;
    this.#receiveSequence = receiveSequence;
  }

  /** Seals one message for the acceptor. */
  wrap(plaintext: Uint8Array): WrappedMessage {
    if (this.key.key.disposed) throw new BastionError('kerberos_context_state');
    const sequence = this.#sendSequence;
    const flags = WRAP_FLAG.sealed | (this.acceptorSubkey ? WRAP_FLAG.acceptor_subkey : 0);
    const out = sealWrapToken(
      { key: this.key, usage: GSS_USAGE.initiator_seal, flags, sequence },
      plaintext,
    );
    this.#sendSequence = BigInt.asUintN(64, sequence + 1n);
    return out;
  }

  /** Opens one message from the acceptor, refusing anything but the next sealed token. */
  unwrap(header: Uint8Array, data: Uint8Array): Buffer {
    if (this.key.key.disposed) throw new BastionError('kerberos_context_state');
    const token = readWrapHeader(header);
    if ((token.flags & WRAP_FLAG.sent_by_acceptor) === 0) {
      throw new BastionError('kerberos_wrap_direction');
    }
    if ((token.flags & WRAP_FLAG.sealed) === 0) throw new BastionError('kerberos_wrap_unsealed');
    if (((token.flags & WRAP_FLAG.acceptor_subkey) !== 0) !== this.acceptorSubkey) {
      throw new BastionError('kerberos_wrap_invalid');
    }
    if (token.sequence !== this.#receiveSequence) throw new BastionError('kerberos_wrap_sequence');
    const plaintext = openWrapToken(this.key, GSS_USAGE.acceptor_seal, header, data);
    this.#receiveSequence = BigInt.asUintN(64, token.sequence + 1n);
    return plaintext;
  }

  /** Zero-fills the key; the context is unusable afterwards. */
  dispose(): void {
    this.key.key.dispose();
  }
}
