/**
 * The configuration of each call's MSAL client: the authority (with its metadata when
 * known), client authentication (a fresh private_key_jwt assertion per request, or the
 * configured secret), this module's network client, and MSAL's own logging off but errors.
 */
import { type Configuration, type INetworkModule, LogLevel, ProtocolMode } from '@azure/msal-node';
import type { Clock } from '../../base/clock.js';
import { type ClientAuth, signClientAssertion } from '../oauth/assertions.js';
import type { AuthorityMetadata } from './authority.js';

/** Bytes as a JS string, where MSAL takes nothing else. */
export const utf8 = (bytes: Buffer): string => bytes.toString('utf8');

export interface MsalSettings {
  readonly authority: AuthorityMetadata;
  readonly knownAuthorities: readonly string[] | undefined;
  readonly protocolMode: 'AAD' | 'OIDC';
  readonly clientId: string;
  readonly clientAuth: ClientAuth;
  /** `aud` of client assertions; default the token endpoint. */
  readonly assertionAudience: string | undefined;
  readonly clock: Clock;
}

export function msalConfiguration(
  settings: MsalSettings,
  networkClient: INetworkModule,
): Configuration {
  const { authority, clientId, clientAuth: auth } = settings;
  const metadata = authority.metadata;
  return {
    auth: {
      clientId,
      authority: authority.authority,
      ...(settings.knownAuthorities !== undefined
        ? { knownAuthorities: [...settings.knownAuthorities] }
        : {}),
      ...(metadata !== undefined ? { authorityMetadata: metadata } : {}),
      ...(auth.method === 'private_key_jwt'
        ? {
            clientAssertion: ({ tokenEndpoint }) =>
              signClientAssertion({
                signer: auth.signer(),
                clientId,
                audience: tokenEndpoint ?? settings.assertionAudience ?? authority.tokenEndpoint(),
                now: settings.clock.now(),
              }),
          }
        : // MSAL takes a string: the configured secret's JS-string copy, per call.
          { clientSecret: auth.secret.use(utf8) }),
    },
    system: {
      protocolMode: settings.protocolMode === 'OIDC' ? ProtocolMode.OIDC : ProtocolMode.AAD,
      networkClient,
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Error,
        loggerCallback: () => undefined,
      },
    },
  };
}
