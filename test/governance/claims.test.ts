/**
 * claimsFor: what an active AC carries from its accord — here the Kerberos principal the
 * accord maps the AC's own principal to, and nobody else's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Accord } from '../../src/governance/accords.js';
import { claimsFor } from '../../src/governance/claims.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import type { AcRecord } from '../../src/store/store.js';

const alice = generatePrincipalKey().did;
const bob = generatePrincipalKey().did;
const settings = { issuer: 'urn:bastion:broker', audience: 'urn:bastion:connectors' };

const accord: Accord = {
  id: 'win',
  principals: [alice, bob],
  connectors: ['winrm'],
  targets: ['win1.example.test'],
  capabilities: ['exec'],
  max_duration_seconds: 300,
  approvals: { required: 0, approvers: [] },
  admins: [],
  kerberos_principals: new Map([[alice, 'alice@EXAMPLE.TEST']]),
};

const record = (principal: string): AcRecord => ({
  ac_id: 'ac-1',
  principal_did: principal,
  cnf_jkt: 'j'.repeat(43),
  accord: 'win',
  connector: 'winrm',
  target: 'win1.example.test',
  capabilities: ['exec'],
  capability_mask: 2,
  duration_seconds: 300,
  approvals_required: 0,
  requested_at: 0,
  state: 'active',
});

describe('claimsFor: the DPoP rule', () => {
  it("carries the accord's oauth.sender_constrained, and nothing without one", () => {
    const strict = { ...accord, oauth: { sender_constrained: 'required' as const } };
    assert.equal(claimsFor(record(alice), 0, settings, strict).ctx.sender_constrained, 'required');
    assert.equal('sender_constrained' in claimsFor(record(alice), 0, settings, accord).ctx, false);
  });
});

describe('claimsFor: the Kerberos principal', () => {
  it("carries the accord's mapping for the AC's own principal", () => {
    const claims = claimsFor(record(alice), 1_000_000, settings, accord);
    assert.equal(claims.ctx.kerberos_principal, 'alice@EXAMPLE.TEST');
  });

  it('carries none for a principal the accord maps to nobody, or without a mapping', () => {
    assert.equal('kerberos_principal' in claimsFor(record(bob), 0, settings, accord).ctx, false);
    const unmapped = { ...accord, kerberos_principals: undefined };
    assert.equal(
      'kerberos_principal' in claimsFor(record(alice), 0, settings, unmapped).ctx,
      false,
    );
  });
});
