/**
 * The part of reading a Workload API reply that JWT-SVIDs and X.509-SVIDs share: the list
 * of SVIDs must be a short, non-empty list, and the one used is the one of the SPIFFE ID
 * asked for, or (none named) the first, which the SPIFFE Workload API makes the default.
 * A reply that does not fit is `backend_error`: the agent is local, but not trusted blindly.
 */
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { isSpiffeId } from './spiffe-id.js';

/** More SVIDs than any broker holds identities: a reply this long is not one to read. */
const MAX_SVIDS = 64;

export function replyFailure(): CredentialResolutionError {
  return new CredentialResolutionError(BackendReasons.failed);
}

/** The SVID of `spiffeId` (or the first) from a reply's `svids`, with its SPIFFE ID checked. */
export function chosenSvid(
  reply: unknown,
  spiffeId: string | undefined,
): Record<string, unknown> & { spiffe_id: string } {
  const svids = (reply as { svids?: unknown } | null)?.svids;
  if (!Array.isArray(svids) || svids.length === 0 || svids.length > MAX_SVIDS) {
    throw replyFailure();
  }
  const chosen: unknown =
    spiffeId === undefined
      ? svids[0]
      : svids.find((s) => (s as { spiffe_id?: unknown } | null)?.spiffe_id === spiffeId);
  if (typeof chosen !== 'object' || chosen === null) throw replyFailure();
  const id = (chosen as { spiffe_id?: unknown }).spiffe_id;
  if (!isSpiffeId(id)) throw replyFailure();
  return chosen as Record<string, unknown> & { spiffe_id: string };
}
