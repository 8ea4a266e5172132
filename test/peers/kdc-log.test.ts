/**
 * The KDC log reader (test/helpers/kdc-log.ts) on lines krb5kdc 1.20 wrote (copied from a
 * run of test/peers/kdc.test.ts), so that what acceptance tests conclude from a log — "the
 * KDC shows S4U2Self and S4U2Proxy for that user and SPN" — cannot be true of a log that
 * does not show it. Runs without the KDC installed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKdcLog, s4uRequests, showsDelegation } from '../helpers/kdc-log.js';

const ET =
  '(4 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17), aes256-cts-hmac-sha384-192(20), aes128-cts-hmac-sha256-128(19)})';
const OK =
  'ISSUE: authtime 1796065670, etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), ses=aes256-cts-hmac-sha1-96(18)},';
const at = (pid: number, text: string): string =>
  `Nov 30 19:07:50 vm krb5kdc[${pid}](info): ${text}`;
const BROKER = 'HTTP/broker.bastion.test@BASTION.TEST';
const WSMAN = 'WSMAN/win1.bastion.test@BASTION.TEST';

const self = (pid: number, user: string, status = OK): string[] => [
  at(pid, `TGS_REQ ${ET} 127.0.0.1: ${status} ${BROKER} for ${BROKER}`),
  at(pid, `... PROTOCOL-TRANSITION s4u-client=${user}@BASTION.TEST`),
  at(pid, 'closing down fd 14'),
];
const proxy = (pid: number, user: string, spn = WSMAN): string[] => [
  at(pid, `TGS_REQ ${ET} 127.0.0.1: ${OK} ${BROKER} for ${spn}`),
  at(pid, `... CONSTRAINED-DELEGATION s4u-client=${user}@BASTION.TEST`),
];
const log = (...lines: string[][]): string => lines.flat().join('\n') + '\n';

describe('the KDC log reader', () => {
  it('pairs each S4U request with the user its second line names', () => {
    const requests = s4uRequests(log(self(7, 'alice'), proxy(7, 'alice')));
    assert.deepEqual(
      requests.map((r) => [r.s4u, r.status, r.client, r.server, r.user, r.pid]),
      [
        ['s4u2self', 'ISSUE', BROKER, BROKER, 'alice@BASTION.TEST', 7],
        ['s4u2proxy', 'ISSUE', BROKER, WSMAN, 'alice@BASTION.TEST', 7],
      ],
    );
  });

  it('reads refusals: their status and message, a user only where the KDC names one', () => {
    const text = log([
      at(
        7,
        `TGS_REQ ${ET} 127.0.0.1: UNSUPPORTED_S4U2PROXY_REQUEST: authtime 0, etypes {rep=UNSUPPORTED:(0)} ${BROKER} for host/other.bastion.test@BASTION.TEST, KDC can't fulfill requested option`,
      ),
      at(7, '... CONSTRAINED-DELEGATION s4u-client=<unknown>'),
      at(
        7,
        `TGS_REQ ${ET} 127.0.0.1: EVIDENCE_TKT_NOT_FORWARDABLE: authtime 0, etypes {rep=UNSUPPORTED:(0)} ${BROKER} for ${WSMAN}, KDC can't fulfill requested option`,
      ),
      at(
        7,
        `AS_REQ ${ET} 127.0.0.1: CLIENT_NOT_FOUND: nobody@BASTION.TEST for krbtgt/BASTION.TEST@BASTION.TEST, Client not found in Kerberos database`,
      ),
      at(
        7,
        `TGS_REQ ${ET} 127.0.0.1: PROCESS_TGS: authtime 0, etypes {rep=UNSUPPORTED:(0)} ${BROKER} for ${BROKER}, Clock skew too great`,
      ),
    ]);
    assert.deepEqual(
      parseKdcLog(text).map((r) => [r.request, r.status, r.s4u, r.user, r.client, r.message]),
      [
        [
          'TGS_REQ',
          'UNSUPPORTED_S4U2PROXY_REQUEST',
          's4u2proxy',
          undefined,
          BROKER,
          "KDC can't fulfill requested option",
        ],
        [
          'TGS_REQ',
          'EVIDENCE_TKT_NOT_FORWARDABLE',
          's4u2proxy',
          undefined,
          BROKER,
          "KDC can't fulfill requested option",
        ],
        [
          'AS_REQ',
          'CLIENT_NOT_FOUND',
          undefined,
          undefined,
          'nobody@BASTION.TEST',
          'Client not found in Kerberos database',
        ],
        ['TGS_REQ', 'PROCESS_TGS', undefined, undefined, BROKER, 'Clock skew too great'],
      ],
    );
  });

  it('keeps two KDC processes apart (a restart in between)', () => {
    const text = log(
      [...self(7, 'alice').slice(0, 1), ...self(8, 'bob')],
      [self(7, 'alice')[1] ?? ''],
    );
    const requests = parseKdcLog(text);
    assert.deepEqual(
      requests.map((r) => [r.pid, r.user]),
      [
        [7, 'alice@BASTION.TEST'],
        [8, 'bob@BASTION.TEST'],
      ],
    );
  });

  it('shows delegation only for an issued S4U2Self then an issued S4U2Proxy of that user and SPN', () => {
    const want = { user: 'alice', spn: 'WSMAN/win1.bastion.test', service: BROKER };
    // The planted control: the reader finds what is there…
    assert.ok(showsDelegation(log(self(7, 'alice'), proxy(7, 'alice')), want));
    assert.ok(
      showsDelegation(log(self(7, 'alice'), proxy(7, 'alice')), {
        user: 'alice@BASTION.TEST',
        spn: WSMAN,
      }),
    );
    // …and nothing else.
    assert.ok(!showsDelegation('', want));
    assert.ok(!showsDelegation(log(self(7, 'alice')), want), 'no S4U2Proxy');
    assert.ok(!showsDelegation(log(proxy(7, 'alice')), want), 'no S4U2Self');
    assert.ok(!showsDelegation(log(proxy(7, 'alice'), self(7, 'alice')), want), 'out of order');
    assert.ok(!showsDelegation(log(self(7, 'bob'), proxy(7, 'bob')), want), 'another user');
    assert.ok(
      !showsDelegation(
        log(self(7, 'alice'), proxy(7, 'alice', 'HTTP/win1.bastion.test@BASTION.TEST')),
        want,
      ),
      'another SPN',
    );
    assert.ok(
      !showsDelegation(log(self(7, 'alice'), proxy(7, 'alice')), {
        ...want,
        service: 'HTTP/other@BASTION.TEST',
      }),
      'another service',
    );
    assert.ok(
      !showsDelegation(
        log(
          self(7, 'alice', 'PROCESS_TGS: authtime 0, etypes {rep=UNSUPPORTED:(0)}'),
          proxy(7, 'alice'),
        ),
        want,
      ),
      'S4U2Self refused',
    );
  });
});
