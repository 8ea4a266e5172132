/**
 * Reading Vault's replies: the `data` and `auth` objects of a success, and the backend
 * reason an error status maps to. Vault's own error text (`{"errors": [...]}`) is never
 * read: it may quote the request.
 * https://developer.hashicorp.com/vault/api-docs#http-status-codes
 */
import {
  type BackendReason,
  BackendReasons,
  CredentialResolutionError,
} from '../../credentials/errors.js';
import { statusReason } from '../oauth/reply.js';
import type { VaultReply } from './http.js';

/** 400 and 403 are refusals, 429 and 5xx (503: sealed) unavailability, 404 a missing mount or role. */
export function vaultReason(status: number): BackendReason {
  if (status === 404 || status === 405) return BackendReasons.misconfigured;
  return statusReason(status) ?? BackendReasons.failed;
}

/** An object-valued field of a reply, or undefined. */
export function objectField(
  json: Record<string, unknown> | undefined,
  name: string,
): Record<string, unknown> | undefined {
  const value = json?.[name];
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The `data` of a 200 reply; otherwise a refusal with the status's reason. */
export function dataOf(reply: VaultReply): Record<string, unknown> {
  if (reply.status !== 200) throw new CredentialResolutionError(vaultReason(reply.status));
  const data = objectField(reply.json, 'data');
  if (data === undefined) throw new CredentialResolutionError(BackendReasons.failed);
  return data;
}

/** A whole number of seconds from a reply (`ttl`, `lease_duration`), or undefined. */
export function secondsOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
