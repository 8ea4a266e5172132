/**
 * `bastion mcp` as a child process, the way an MCP host starts it, for the MCP tests (main.ts
 * does not register the command yet). Errors are reported as main.ts reports them.
 */
import { runMcp } from '../../src/cli/commands/mcp.js';
import { BastionError } from '../../src/base/errors.js';

try {
  process.exitCode = await runMcp(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bastion: ${err instanceof BastionError ? err.code : 'internal_error'}\n`);
  process.exitCode = 2;
}
