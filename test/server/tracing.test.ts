/**
 * OpenTelemetry traces through a real broker to a real OTLP/HTTP receiver on 127.0.0.1:
 * one SSH invocation against a real sshd is one trace, its request span above one span per
 * lifecycle step, with allow-listed attributes only; and the exported bytes hold no secret
 * (the SSH key, its marker), no AC, no DID and nothing the caller sent, which the scan
 * first proves it would find.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrokerError } from '../../src/client/client.js';
import type { SshCertCredential } from '../../src/credentials/types.js';
import { type ConnectorBroker, startConnectorBroker } from '../helpers/connectors.js';
import { newMarker } from '../helpers/leak.js';
import { keyComment } from '../helpers/needles.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';
import { findIn, needle, type Needle } from '../helpers/scan.js';
import { opensshSeedFromPem } from '../../src/ssh/private-key.js';

const STEP_ATTRIBUTES = new Set([
  'bastion.connector',
  'bastion.backend',
  'bastion.outcome',
  'bastion.fingerprint_prefix',
  'bastion.error_code',
]);
const REQUEST_ATTRIBUTES = new Set([
  'http.request.method',
  'http.route',
  'http.response.status_code',
  'bastion.error_code',
]);

describe('traces of an invocation', () => {
  const marker = newMarker();
  let receiver: OtlpReceiver;
  let b: ConnectorBroker;
  const keys: Buffer[] = [];
  let acToken = '';
  let spans: ReceivedSpan[] = [];

  before(async () => {
    receiver = await startOtlpReceiver();
    b = await startConnectorBroker({
      marker,
      extraYaml: `tracing: { otlp_endpoint: "${receiver.url}", service_name: bastion-test }\n`,
    });
    // A copy of each SSH key the backend issues, to look for in what was exported.
    const resolve = b.spy.resolve.bind(b.spy);
    b.spy.resolve = async (...args) => {
      const credential = await resolve(...args);
      keys.push(Buffer.from((credential as SshCertCredential).privateKey.unsafeReveal()));
      return credential;
    };
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    acToken = ac.token;
    const r = await b.client().invoke('ssh', ac.token, {
      target: '127.0.0.1',
      operation: { argv: ['echo', marker] },
    });
    assert.equal(r.result.stdout, `${marker}\n`);
    await assert.rejects(
      b.client().invoke('ssh', ac.token, {
        target: '127.0.0.1',
        operation: { command: `rm -rf /tmp/${marker}` },
      }),
      (e: unknown) => e instanceof BrokerError && e.code === 'command_not_allowed',
    );
    // Closing the broker flushes its spans: the receiver then holds every export.
    await b.close();
    spans = receiver.spans();
  });
  after(() => receiver.close());

  it('exports one span per lifecycle step, below the request span, in one trace', () => {
    const request = spans.find(
      (s) =>
        s.name === 'POST /connectors/ssh/invoke' && s.attributes['bastion.error_code'] === 'ok',
    );
    assert.ok(request, `the request span, among ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(request.parentSpanId, '', 'a request span is a root');
    const trace = spans.filter((s) => s.traceId === request.traceId);
    const named = (name: string) => trace.filter((s) => s.name === name);
    const [authenticate] = named('authenticate');
    assert.ok(authenticate);
    assert.equal(authenticate.parentSpanId, request.spanId);
    assert.equal(named('verify_ac')[0]?.parentSpanId, authenticate.spanId);
    for (const step of ['resolve_credential', 'run_operation', 'discard_credential']) {
      assert.equal(named(step).length, 1, step);
      assert.equal(named(step)[0]?.parentSpanId, request.spanId, step);
    }
    // invoke_start, credential_issue, then discard and end together.
    assert.equal(named('audit_write').length, 3);
    assert.equal(named('resolve_credential')[0]?.attributes['bastion.backend'], 'spy');
    const run = named('run_operation')[0];
    assert.equal(run?.attributes['bastion.connector'], 'ssh');
    assert.equal(run?.attributes['bastion.outcome'], 'ok');
    const prefix = String(run?.attributes['bastion.fingerprint_prefix']);
    assert.ok(prefix.length > 0 && prefix.length <= 12, prefix);
  });

  it('records a refusal as its catalog code on the request span, nothing else', () => {
    const refused = spans.find((s) => s.attributes['bastion.error_code'] === 'command_not_allowed');
    assert.ok(refused);
    assert.equal(refused.name, 'POST /connectors/ssh/invoke');
    assert.equal(refused.attributes['http.response.status_code'], 403);
    const children = spans.filter((s) => s.parentSpanId === refused.spanId);
    assert.deepEqual(children.map((s) => s.name).sort(), ['audit_write', 'authenticate']);
  });

  it('sets allow-listed attributes only', () => {
    for (const span of spans) {
      const allowed = span.parentSpanId === '' ? REQUEST_ATTRIBUTES : STEP_ATTRIBUTES;
      for (const key of Object.keys(span.attributes)) {
        assert.ok(allowed.has(key), `${span.name} carries ${key}`);
      }
    }
  });

  it('exports no secret, no AC, no DID and nothing the caller sent', () => {
    assert.ok(keys.length > 0, 'the backend issued a key');
    const [, , signature = ''] = acToken.split('.');
    const needles: Needle[] = [
      needle('marker', marker),
      needle('ssh key comment', keyComment(marker)),
      // The PEM as a JSON string holds it: its line breaks escaped, which the scan drops.
      ...keys.map((key, i) => needle(`ssh key PEM ${i}`, key.toString().replace(/\n/g, ''))),
      ...keys.map((key, i) => needle(`ssh key seed ${i}`, opensshSeedFromPem(key))),
      needle('AC', acToken),
      needle('AC signature', signature),
      needle('DID', b.alice.did),
    ];
    // The scan finds each needle planted as an export would carry it: a JSON string (the
    // PEM whole, with its line breaks; binary in base64).
    const planted = [marker, keyComment(marker).toString('base64'), acToken, signature];
    for (const key of keys) planted.push(key.toString(), opensshSeedFromPem(key).toString('hex'));
    const control = Buffer.from(JSON.stringify({ values: [...planted, b.alice.did] }));
    assert.deepEqual(findIn(control, needles).sort(), needles.map((n) => n.label).sort());
    const exported = Buffer.concat(receiver.bodies);
    assert.ok(exported.length > 0);
    assert.deepEqual(findIn(exported, needles), []);
  });
});
