import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { format, inspect } from 'node:util';
import { REDACTED, Secret, SecretDisposedError } from '../../src/credentials/secret.js';

describe('Secret', () => {
  it('shows [redacted] in every text form', () => {
    const s = Secret.fromString('hunter2-top-secret');
    assert.equal(s.toString(), REDACTED);
    assert.equal(String(s), REDACTED);
    assert.equal(`${s}`, REDACTED);
    assert.equal(JSON.stringify({ s }), `{"s":"${REDACTED}"}`);
    assert.equal(inspect(s), REDACTED);
    assert.equal(
      inspect({ nested: { s } }, { depth: 10, showHidden: true }).includes('hunter2'),
      false,
    );
    assert.equal(format('%s %o %O %j', s, s, s, { s }).includes('hunter2'), false);
    assert.deepEqual(Object.keys(s), []);
  });

  it('reveals bytes only through an explicit call', () => {
    const s = Secret.fromString('abc');
    assert.equal(s.unsafeReveal().toString(), 'abc');
    assert.equal(
      s.use((b) => b.toString('hex')),
      '616263',
    );
    assert.equal(s.byteLength, 3);
  });

  it('zero-fills on dispose, idempotently, and refuses use afterwards', () => {
    const s = Secret.copyOf(Buffer.from('0123456789'));
    const view = s.unsafeReveal();
    s.dispose();
    assert.ok(
      view.every((b) => b === 0),
      'bytes zeroed',
    );
    assert.equal(s.disposed, true);
    s.dispose();
    assert.throws(() => s.unsafeReveal(), SecretDisposedError);
    assert.throws(
      () => s.use(() => 1),
      (e: unknown) => e instanceof SecretDisposedError && e.code === 'secret_disposed',
    );
    assert.throws(() => s.byteLength, SecretDisposedError);
    assert.equal(String(s), REDACTED);
  });

  it('is disposed at the end of a `using` block', () => {
    let view: Buffer;
    let held: Secret;
    {
      using s = Secret.fromString('scoped');
      held = s;
      view = s.unsafeReveal();
      assert.equal(view.toString(), 'scoped');
    }
    assert.equal(held.disposed, true);
    assert.ok(view.every((b) => b === 0));
  });

  it('adopt takes the buffer itself; copyOf leaves the original alone', () => {
    const original = Buffer.from('adopted');
    Secret.adopt(original).dispose();
    assert.ok(original.every((b) => b === 0));
    const other = Buffer.from('copied');
    Secret.copyOf(other).dispose();
    assert.equal(other.toString(), 'copied');
  });

  it('compares in constant time and by value', () => {
    assert.equal(Secret.fromString('a').equals(Secret.fromString('a')), true);
    assert.equal(Secret.fromString('a').equals(Secret.fromString('b')), false);
    assert.equal(Secret.fromString('a').equals(Secret.fromString('aa')), false);
  });
});
