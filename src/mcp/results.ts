/**
 * What a tool call returns: its JSON as `structuredContent` (checked by clients against the
 * tool's `outputSchema`) and the same JSON as one text block for hosts that read only text,
 * cut to fit the host's limit while staying valid JSON; or an error in the bridge's fixed
 * form `{"error":{"code","message"}}`.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BrokerError } from '../client/client.js';
import { BastionError } from '../base/errors.js';
import { BridgeError } from './tool-kit.js';

const SAFE_CODE = /^[a-z][a-z0-9_]{1,63}$/;

function textResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }] };
}

/** `value` as both structured and text content, cut to `max` characters of JSON. */
export function toolResult(value: Record<string, unknown>, max: number): CallToolResult {
  const text = fitJson(value, max);
  if (text === undefined) return errorResult(new BridgeError('result_too_large'));
  return { ...textResult(text), structuredContent: JSON.parse(text) as Record<string, unknown> };
}

/** `{"error":{"code","message"}}`: the broker's code, or the bridge's; never a stack or token. */
export function errorResult(
  err: unknown,
  onInternalError?: (err: unknown) => void,
): CallToolResult {
  let code: string = 'internal_error';
  let message = 'Internal error';
  if (err instanceof BrokerError) {
    // The broker's codes and messages are fixed text; bound them anyway.
    code = SAFE_CODE.test(err.code) ? err.code : 'unknown_error';
    message = err.message.slice(0, 500);
  } else if (err instanceof BastionError) {
    code = err.code;
    message = err.message;
  } else {
    onInternalError?.(err);
  }
  return { ...textResult(JSON.stringify({ error: { code, message } })), isError: true };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The longest string inside `value`, with a way to replace it. */
function longestString(value: Json): { text: string; set: (s: string) => void } | undefined {
  let best: { text: string; set: (s: string) => void } | undefined;
  const visit = (node: Json): void => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        if (typeof child === 'string') {
          if (best === undefined || child.length > best.text.length)
            best = { text: child, set: (s) => (node[i] = s) };
        } else visit(child);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [k, child] of Object.entries(node)) {
        if (typeof child === 'string') {
          if (best === undefined || child.length > best.text.length)
            best = { text: child, set: (s) => (node[k] = s) };
        } else visit(child);
      }
    }
  };
  visit(value);
  return best;
}

/**
 * JSON text of `value` in at most `max` characters. Too long, the longest strings (command
 * output, bodies) are cut first, so that what comes back is still valid JSON with every
 * field of `value`, and `truncated_by_bridge` says so. Undefined when even that cannot fit.
 */
export function fitJson(value: Record<string, unknown>, max: number): string | undefined {
  const text = JSON.stringify(value);
  if (text.length <= max) return text;
  const copy = JSON.parse(text) as { [key: string]: Json };
  const marked = (): string =>
    JSON.stringify({ ...copy, truncated_by_bridge: true, max_result_chars: max });
  for (let round = 0; round < 64; round++) {
    const over = marked().length - max;
    if (over <= 0) return marked();
    const leaf = longestString(copy);
    if (leaf === undefined || leaf.text.length === 0) break;
    // One character serializes to at least one: cutting `over` of them is always enough.
    leaf.set(leaf.text.slice(0, Math.max(0, leaf.text.length - over - 16)));
  }
  return marked().length <= max ? marked() : undefined;
}
