/**
 * The WinRM operation (for the plugin to come): exactly one of argv, command, powershell,
 * with an optional timeout, bounded like the other command connectors, and derivable as
 * JSON Schema for the route, OpenAPI and the MCP tool.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonSchemaOf } from '../../../src/connectors/operation.js';
import {
  MAX_SCRIPT,
  WINRM_OPERATION,
  parseWinRmOperation,
} from '../../../src/connectors/winrm/operation.js';

describe('WinRM operation', () => {
  it('takes argv, command or powershell, with an optional timeout', () => {
    assert.deepEqual(parseWinRmOperation({ argv: ['whoami'] }), { argv: ['whoami'] });
    assert.deepEqual(parseWinRmOperation({ command: 'dir', timeout: 30 }), {
      command: 'dir',
      timeout: 30,
    });
    assert.deepEqual(parseWinRmOperation({ powershell: 'Get-Date' }), { powershell: 'Get-Date' });
  });

  it('refuses none or several of them with winrm_operation_ambiguous', () => {
    for (const raw of [
      {},
      { timeout: 5 },
      { argv: ['a'], command: 'a' },
      { command: 'a', powershell: 'a' },
      { argv: ['a'], command: 'a', powershell: 'a' },
    ]) {
      assert.throws(() => parseWinRmOperation(raw), { code: 'winrm_operation_ambiguous' });
    }
  });

  it('refuses what the schema bounds with invalid_argument', () => {
    for (const raw of [
      { argv: [] },
      { argv: [''] },
      { argv: ['a\0b'] },
      { command: '  ' },
      { powershell: 'x'.repeat(MAX_SCRIPT + 1) },
      { powershell: 'Get-Date', timeout: 0 },
      { powershell: 'Get-Date', timeout: 301 },
      { powershell: 'Get-Date', target: 'win' },
      'whoami',
    ]) {
      assert.throws(() => parseWinRmOperation(raw), { code: 'invalid_argument' });
    }
  });

  it('derives a JSON Schema with the three shapes', () => {
    const schema = jsonSchemaOf(WINRM_OPERATION.schema, 'input');
    const shapes = (schema['anyOf'] as { required?: string[] }[]).map((s) => s.required);
    assert.deepEqual(shapes, [['argv'], ['command'], ['powershell']]);
  });
});
