/**
 * The lifecycle's own guarantees, with a real resolver, real ACs and proofs, and a test
 * connector and audit that can be made to fail: audit first or nothing; discard always.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditUnavailableError } from '../../src/audit/errors.js';
import type { AuditEvent } from '../../src/base/audit-records.js';
import type { Connector } from '../../src/connectors/connector.js';
import { ARGV_ONLY } from '../../src/connectors/command/operation.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { Secret } from '../../src/credentials/secret.js';
import type { Credential, OAuthCredential } from '../../src/credentials/types.js';
import { BastionError } from '../../src/base/errors.js';
import type { ExecResult } from '../../src/transports/types.js';
import { scriptedBackend } from '../helpers/backends.js';
import { sessionHarness } from '../helpers/session.js';

// Any transport failure will do; this one stands for them.
const BOOM = 'ssh_exec_failed';

async function setup(options: { failAuditOn?: AuditEvent['type']; runThrows?: boolean } = {}) {
  const issued: Credential[] = [];
  const backend = scriptedBackend('b', (_t, target) => {
    const c = {
      type: 'oauth',
      target,
      accessToken: Secret.fromString('tok'),
      tokenType: 'Bearer',
      scopedTo: 's',
      issuedBy: 'b',
      expiresAt: new Date(Date.now() + 60_000),
    } as Credential;
    issued.push(c);
    return Promise.resolve(c);
  });
  const resolver = new CredentialResolver();
  resolver.register(backend);
  const events: AuditEvent[] = [];
  const runs: unknown[] = [];
  const connector: Connector = {
    name: 'test',
    credentialType: 'oauth',
    operation: ARGV_ONLY,
    parseOperation: (raw) => raw,
    requiredCapabilities: () => ['exec'],
    commandLine: () => undefined,
    auditDetail: () => ({ exit_code: 0 }),
    run: (ctx) => {
      runs.push(ctx.operation);
      if (options.runThrows === true) return Promise.reject(new BastionError(BOOM));
      return Promise.resolve({
        exit_code: 0,
        stdout: 'ok',
        stderr: '',
        stdout_truncated: false,
        stderr_truncated: false,
        timed_out: false,
        duration_ms: 1,
      } satisfies ExecResult);
    },
  };
  const harness = await sessionHarness({
    jti: 'ac-1',
    ctx: {
      principal_did: '',
      capability_mask: 2,
      capabilities: ['exec'],
      accord_template: 't',
      connector: 'test',
      target: 'h.test',
    },
    connector,
    resolver,
    audit: {
      append: (e) => {
        if (e.type === options.failAuditOn) return Promise.reject(new AuditUnavailableError());
        events.push(e);
        return Promise.resolve();
      },
    },
  });
  const invoke = () => harness.invoke('h.test', { argv: ['x'] });
  return { invoke, events, runs, issued, backend };
}

describe('SessionConnector lifecycle', () => {
  it('audits start, issue, discard and end around the run, in that order', async () => {
    const t = await setup();
    const r = await t.invoke();
    assert.equal((r.result as ExecResult).stdout, 'ok');
    assert.deepEqual(
      t.events.map((e) => e.type),
      ['invoke_start', 'credential_issue', 'credential_discard', 'invoke_end'],
    );
    assert.equal(t.events[3]?.outcome, 'ok');
    assert.equal((t.issued[0] as OAuthCredential).accessToken.disposed, true);
    assert.equal(t.backend.revoked.length, 1);
    assert.ok(
      !JSON.stringify(t.events).includes('tok'),
      'the audit holds a fingerprint, not the token',
    );
  });

  it('fails closed when the start cannot be audited: no credential, no run', async () => {
    const t = await setup({ failAuditOn: 'invoke_start' });
    await assert.rejects(
      t.invoke(),
      (e: unknown) =>
        e instanceof AuditUnavailableError && e.status === 503 && e.code === 'audit_unavailable',
    );
    assert.equal(t.runs.length, 0);
    assert.equal(t.backend.calls.length, 0);
  });

  it('fails closed when the credential cannot be audited: no run, and the credential is discarded', async () => {
    const t = await setup({ failAuditOn: 'credential_issue' });
    await assert.rejects(t.invoke(), AuditUnavailableError);
    assert.equal(t.runs.length, 0);
    assert.equal(t.backend.revoked.length, 1);
    assert.equal((t.issued[0] as OAuthCredential).accessToken.disposed, true);
  });

  it('discards the credential and records the failure when the transport throws', async () => {
    const t = await setup({ runThrows: true });
    await assert.rejects(t.invoke(), (e: unknown) => e instanceof BastionError && e.code === BOOM);
    assert.equal(t.backend.revoked.length, 1);
    assert.equal((t.issued[0] as OAuthCredential).accessToken.disposed, true);
    assert.equal(t.events.at(-1)?.type, 'invoke_end');
    assert.equal(t.events.at(-1)?.outcome, BOOM);
  });
});
