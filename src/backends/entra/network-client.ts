/**
 * MSAL's network module for one on-behalf-of call: its requests go through `sendRequest`
 * bound to the call's abort signal, and it records what the token endpoint answered (a
 * status, the server's error code, a network failure), from which the backend's reason
 * for a failed call is taken. A discovered OpenID configuration is kept for later calls.
 */
import {
  ClientConfigurationError,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import { type BackendReason, BackendReasons } from '../../credentials/errors.js';
import { errorCodeOf, parseJsonObject, statusReason } from '../oauth/reply.js';
import type { AuthorityMetadata } from './authority.js';
import { sendRequest } from './http.js';

/** What one call's network client saw: the reason the backend reports comes from here. */
export interface CallTrace {
  status?: number;
  error?: string | undefined;
  networkFailed: boolean;
}

/** MSAL's HTTP for one call: bound to its abort signal, recording what it saw. */
export function msalNetworkClient(
  trace: CallTrace,
  signal: AbortSignal,
  ca: string[] | undefined,
  authority: AuthorityMetadata,
): INetworkModule {
  const send = async <T>(
    method: 'GET' | 'POST',
    url: string,
    options: NetworkRequestOptions | undefined,
  ): Promise<NetworkResponse<T>> => {
    const reply = await sendRequest(method, url, options, signal, ca).catch(() => {
      trace.networkFailed = true;
      throw new Error('network request failed');
    });
    const body = parseJsonObject(reply.body);
    if (method === 'POST') {
      trace.status = reply.status;
      trace.error = errorCodeOf(body);
    } else if (body !== undefined && reply.status === 200) {
      authority.learn(url, body);
    }
    if (body === undefined) {
      if (method === 'POST') trace.networkFailed = reply.status >= 500;
      throw new Error('reply is not JSON');
    }
    return { status: reply.status, headers: reply.headers, body: body as T };
  };
  return {
    sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions) =>
      send<T>('GET', url, options),
    sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) =>
      send<T>('POST', url, options),
  };
}

/** The reason a failed call reports: from what the network saw, else from MSAL's error. */
export function failureReason(err: unknown, trace: CallTrace): BackendReason {
  if (trace.networkFailed) return BackendReasons.unavailable;
  return (
    statusReason(trace.status) ??
    (err instanceof ClientConfigurationError ? BackendReasons.misconfigured : BackendReasons.failed)
  );
}
