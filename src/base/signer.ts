/**
 * The broker's signing identity, as the modules that sign with it see it: the AC signer,
 * the audit checkpointer and the OAuth backends' client assertions. Defined here, below
 * governance, so that audit and backends need not import governance to sign.
 */
import type { KeyObject } from 'node:crypto';

export interface AcSigner {
  readonly kid: string;
  readonly privateKey: KeyObject;
}
