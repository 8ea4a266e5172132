/** Which credential the HTTP connector asks for per target, and the I3 check on it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/base/errors.js';
import { connectorSettings, parseConfig } from '../../src/config/config.js';
import { HttpConnector } from '../../src/connectors/http/connector.js';
import { credentialFits, credentialTypeFor } from '../../src/connectors/http/credentials.js';
import { Secret } from '../../src/credentials/secret.js';
import type { Credential } from '../../src/credentials/types.js';

const yaml = (credentials: string) => `accords: []
connectors:
  http:
    credentials:
${credentials}`;

describe('connectors.http.credentials', () => {
  it('picks the first matching rule, and a bearer token by default', () => {
    const config = parseConfig(
      yaml(`      - { targets: ["https://*.amazonaws.com"], type: aws, region: eu-west-1, service: s3 }
      - { targets: ["https://mtls.internal.test", "https://*.amazonaws.com"], type: x509_svid }
`),
      '/etc/bastion/c.yaml',
      {},
    );
    const rules = (connectorSettings(config, 'http') as { credentials: never[] }).credentials;
    assert.equal(credentialTypeFor(rules, 'https://s3.amazonaws.com'), 'aws');
    assert.equal(credentialTypeFor(rules, 'https://mtls.internal.test'), 'x509_svid');
    assert.equal(credentialTypeFor(rules, 'https://api.internal.test'), 'oauth');
    const connector = new HttpConnector({ credentials: rules });
    assert.equal(connector.credentialTypeFor('https://sts.amazonaws.com'), 'aws');
    assert.equal(new HttpConnector().credentialTypeFor('https://sts.amazonaws.com'), 'oauth');
  });

  it('refuses an unknown type or a target that is no pattern, naming the key', () => {
    assert.throws(
      () =>
        parseConfig(
          yaml('      - { targets: ["https://x.test"], type: kerberos }\n'),
          'c.yaml',
          {},
        ),
      (e: unknown) =>
        e instanceof ConfigError &&
        /connectors\.http\.credentials\[0\]\.type: must be one of/.test(e.message),
    );
    assert.throws(
      () =>
        parseConfig(
          yaml('      - { targets: ["not a url"], type: aws, region: eu-west-1, service: s3 }\n'),
          'c.yaml',
          {},
        ),
      (e: unknown) => e instanceof ConfigError && /credentials\[0\]\.targets\[0\]/.test(e.message),
    );
  });

  it('fits a credential only of the expected kind, for exactly the target', () => {
    const base = {
      target: 'https://api.test',
      issuedBy: 'b',
      scopedTo: 's',
      expiresAt: new Date(Date.now() + 60_000),
    };
    const bearer = {
      ...base,
      type: 'oauth',
      accessToken: Secret.fromString('t'),
      tokenType: 'Bearer',
    } as Credential;
    assert.equal(credentialFits(bearer, 'oauth', 'https://api.test'), true);
    assert.equal(credentialFits(bearer, 'oauth', 'https://other.test'), false);
    assert.equal(credentialFits(bearer, 'aws', 'https://api.test'), false);
    const mac = { ...bearer, tokenType: 'MAC' } as Credential;
    assert.equal(credentialFits(mac, 'oauth', 'https://api.test'), false);
  });
});
