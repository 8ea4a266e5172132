/** recheckAc: the accord as it is now, rule by rule, against an AC issued earlier. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcContext } from '../../src/credentials/types.js';
import type { Accord } from '../../src/governance/accords.js';
import { InvocationDeniedError } from '../../src/governance/denials.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { recheckAc } from '../../src/governance/recheck.js';

const alice = generatePrincipalKey().did;
const agent = generatePrincipalKey().did;

const accord: Accord = {
  id: 'api',
  principals: [alice],
  connectors: ['http', 'ssh'],
  targets: ['http://169.254.169.254', '*.internal.test'],
  capabilities: ['read', 'exec'],
  max_duration_seconds: 900,
  approvals: { required: 0, approvers: [] },
  admins: [],
  delegates: [agent],
  ssh_login: 'ops',
  kerberos_principals: new Map([[alice, 'alice@EXAMPLE.TEST']]),
};

const ac: AcContext = {
  ac_id: 'ac-1',
  principal_did: alice,
  capability_mask: 1,
  capabilities: ['read'],
  accord_template: 'api',
  connector: 'http',
  target: 'http://169.254.169.254',
  expires_at: 2_000_000_000,
};

const refused = (code: string) => (e: unknown) =>
  e instanceof InvocationDeniedError && e.code === code && e.status === 403;

describe('recheckAc', () => {
  it('passes an AC its accord still allows, and returns that accord', () => {
    assert.equal(recheckAc(new Map([['api', accord]]), ac), accord);
    const delegated = { ...ac, act: { sub: agent } };
    assert.equal(recheckAc(new Map([['api', accord]]), delegated), accord);
    const kerberos = { ...ac, kerberos_principal: 'alice@EXAMPLE.TEST' };
    assert.equal(recheckAc(new Map([['api', accord]]), kerberos), accord);
  });

  it('refuses with the rule the accord now breaks', () => {
    const cases: [Partial<Accord>, string, Partial<AcContext>?][] = [
      [{ principals: [agent] }, 'principal_not_allowed'],
      [{ delegates: [] }, 'delegation_not_allowed', { act: { sub: agent } }],
      [{ connectors: ['ssh'] }, 'connector_not_allowed'],
      [{ targets: ['*.internal.test'] }, 'target_not_allowed'],
      // The literal is gone; a wildcard that matches it never grants a metadata address.
      [{ targets: ['*', 'http://*'] }, 'target_address_refused'],
      [{ capabilities: ['exec'] }, 'capability_not_granted'],
      [
        { ssh_login: 'root' },
        'accord_changed',
        { connector: 'ssh', ssh_principals: ['ops'], target: 'db.internal.test' },
      ],
      // A changed or removed Kerberos mapping is a new grant.
      [
        { kerberos_principals: new Map([[alice, 'root@EXAMPLE.TEST']]) },
        'accord_changed',
        { kerberos_principal: 'alice@EXAMPLE.TEST' },
      ],
      [
        { kerberos_principals: undefined },
        'accord_changed',
        { kerberos_principal: 'alice@EXAMPLE.TEST' },
      ],
      // So is a changed DPoP rule: an AC issued under `required` never gets a bearer token.
      [
        { oauth: { sender_constrained: 'preferred' } },
        'accord_changed',
        { sender_constrained: 'required' },
      ],
      [{ oauth: undefined }, 'accord_changed', { sender_constrained: 'required' }],
      [{ oauth: { sender_constrained: 'required' } }, 'accord_changed'],
    ];
    for (const [change, code, acChange] of cases) {
      assert.throws(
        () => recheckAc(new Map([['api', { ...accord, ...change }]]), { ...ac, ...acChange }),
        refused(code),
        code,
      );
    }
    assert.throws(() => recheckAc(new Map(), ac), refused('accord_changed'));
  });
});
