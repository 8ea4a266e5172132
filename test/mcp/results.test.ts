/**
 * What a tool call returns: the same JSON as structured content and as text, cut to fit the
 * host's limit while keeping every field; a result that cannot fit even so is an error the
 * model can act on (`result_too_large`), never a result missing the fields its schema
 * promises.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitJson, toolResult } from '../../src/mcp/results.js';

function textOf(result: ReturnType<typeof toolResult>): string {
  const first = result.content[0];
  assert.ok(first?.type === 'text');
  return first.text;
}

describe('toolResult', () => {
  it('returns the JSON as structured content and as the same text', () => {
    const value = { ac_id: 'a', status: 'active', nested: { n: 1 } };
    const result = toolResult(value, 4096);
    assert.notEqual(result.isError, true);
    assert.deepEqual(result.structuredContent, value);
    assert.deepEqual(JSON.parse(textOf(result)), value);
  });

  it('cuts the longest strings to fit, keeping every field', () => {
    const value = { invocation_id: 'i', result: { stdout: 'x'.repeat(5000), exit_code: 0 } };
    const result = toolResult(value, 1024);
    const text = textOf(result);
    assert.ok(text.length <= 1024, String(text.length));
    const cut = result.structuredContent as Record<string, any>;
    assert.deepEqual(JSON.parse(text), cut);
    assert.equal(cut['truncated_by_bridge'], true);
    assert.equal(cut['invocation_id'], 'i');
    assert.equal(cut['result'].exit_code, 0);
    assert.ok(cut['result'].stdout.length < 5000);
  });

  it('is result_too_large when the fields alone do not fit', () => {
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`field_${i}`, i]));
    assert.equal(fitJson(many, 1024), undefined);
    const result = toolResult(many, 1024);
    assert.equal(result.isError, true);
    assert.equal(result.structuredContent, undefined);
    assert.equal(JSON.parse(textOf(result)).error.code, 'result_too_large');
  });
});
