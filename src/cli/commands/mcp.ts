/**
 * `bastion mcp --key FILE [--url BROKER] [--http [HOST:]PORT [--http-token-file FILE]
 * [--http-allow-remote] [--http-allowed-host H]... [--http-allowed-origin O]...]`: the MCP bridge an agent's host starts. The key is the agent's own
 * did:key, never a target's credential. Over stdio (the default) stdout carries JSON-RPC
 * only and every other word goes to stderr. Over HTTP the bridge requires a bearer token:
 * read from --http-token-file when that file exists, else generated and written there
 * (0600), else written to a fresh 0700 temporary directory that is removed at exit; the
 * token itself is never printed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Secret } from '../../credentials/secret.js';
import { ConfigError, InvalidArgumentError } from '../../base/errors.js';
import { createBridgeServer } from '../../mcp/bridge.js';
import { startMcpHttp } from '../../mcp/http.js';
import { parseCommandArgs, startLine } from '../args.js';
import { FLAGS } from '../flags.js';
import { untilSignal } from '../signals.js';
import { clientFor } from './governance.js';
import { parseListen } from './serve.js';

const TOKEN_TEXT = /^[\x21-\x7e]{32,1024}$/;

/** The bridge's words on stderr: `bastion mcp: …`, or with --json `{"message": …}` lines. */
function sayer(json: boolean): (line: string) => void {
  return (line) =>
    process.stderr.write(
      json ? JSON.stringify({ message: line }) + '\n' : `bastion mcp: ${line}\n`,
    );
}

/** `PORT` or `HOST:PORT`; a bare port listens on 127.0.0.1. */
function parseHttp(value: string): { host: string; port: number } {
  if (/^\d{1,5}$/.test(value)) {
    const port = Number(value);
    if (port > 65535) throw new InvalidArgumentError('--http ([HOST:]PORT)');
    return { host: '127.0.0.1', port };
  }
  try {
    return parseListen(value);
  } catch {
    throw new InvalidArgumentError('--http ([HOST:]PORT)');
  }
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** An existing token file: private to its owner, one line of at least 32 visible characters. */
function readTokenFile(file: string): Secret {
  let raw: Buffer;
  try {
    if ((statSync(file).mode & 0o077) !== 0)
      throw new ConfigError(file, 'token file must not be readable by group or others (chmod 600)');
    raw = readFileSync(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, 'cannot read the token file');
  }
  try {
    let end = raw.byteLength;
    while (end > 0 && (raw[end - 1] === 0x0a || raw[end - 1] === 0x0d)) end--;
    const token = raw.subarray(0, end);
    if (!TOKEN_TEXT.test(token.toString('latin1')))
      throw new ConfigError(file, 'the token must be one line of 32 to 1024 visible characters');
    return Secret.copyOf(token);
  } finally {
    raw.fill(0);
  }
}

/** 32 random bytes, base64url: 43 characters. */
function newToken(): Secret {
  const raw = randomBytes(32);
  const token = Secret.adopt(Buffer.from(raw.toString('base64url'), 'latin1'));
  raw.fill(0);
  return token;
}

function writeToken(file: string, token: Secret): void {
  try {
    token.use((bytes) =>
      writeFileSync(file, Buffer.concat([bytes, Buffer.from('\n')]), {
        mode: 0o600,
        flag: 'wx',
      }),
    );
  } catch {
    throw new ConfigError(file, 'cannot write the token file');
  }
}

export async function runMcp(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args,
      options: FLAGS.mcp,
      strict: true,
    }),
  );
  if (values.http === undefined && values['http-token-file'] !== undefined)
    throw new InvalidArgumentError('--http-token-file (only with --http)');
  for (const flag of ['http-allow-remote', 'http-allowed-host', 'http-allowed-origin'] as const) {
    if (values.http === undefined && values[flag] !== undefined)
      throw new InvalidArgumentError(`--${flag} (only with --http)`);
  }
  const json = values.json === true;
  const say = sayer(json);
  const client = clientFor(values);
  const bridge = () =>
    createBridgeServer({
      client,
      // The error's text may hold anything: its kind is enough to start looking.
      onInternalError: (err) =>
        say(`internal error in a tool call (${err instanceof Error ? err.name : typeof err})`),
    });

  if (values.http === undefined) {
    // stdout is the JSON-RPC stream: a stray console.log from anywhere would corrupt it.
    // eslint-disable-next-line no-console -- not logging: sending any console output to stderr
    console.log = console.info = console.debug = console.error;
    const server = bridge();
    const closed = new Promise<void>((done) => (server.server.onclose = done));
    await server.connect(new StdioServerTransport());
    say(`agent ${client.did} on stdio`);
    // The host closing our stdin ends the session, as does a signal.
    process.stdin.once('end', () => void server.close());
    await Promise.race([closed, untilSignal()]);
    await server.close();
    return 0;
  }

  const { host, port } = parseHttp(values.http);
  // The bearer token crosses the network in clear text: keep it on this machine unless told.
  if (!isLoopback(host) && values['http-allow-remote'] !== true) {
    throw new InvalidArgumentError(
      '--http (a non-loopback address sends the bearer token in clear text; add --http-allow-remote behind a TLS proxy)',
    );
  }
  let token: Secret;
  let tempDir: string | undefined;
  const tokenFile = values['http-token-file'];
  if (tokenFile !== undefined && existsSync(tokenFile)) {
    token = readTokenFile(tokenFile);
    say(`bearer token read from ${resolve(tokenFile)}`);
  } else {
    token = newToken();
    let file: string;
    if (tokenFile !== undefined) {
      file = resolve(tokenFile);
    } else {
      tempDir = mkdtempSync(join(tmpdir(), 'bastion-mcp-'));
      file = join(tempDir, 'token');
    }
    writeToken(file, token);
    say(
      `bearer token written to ${file}${tempDir !== undefined ? ' (removed at exit)' : ''}; ` +
        'clients send it as "Authorization: Bearer <token>"',
    );
  }
  try {
    const running = await startMcpHttp({
      bridge,
      host,
      port,
      token,
      allowedHosts: values['http-allowed-host'] ?? [],
      allowedOrigins: values['http-allowed-origin'] ?? [],
    });
    say(`agent ${client.did}`);
    const stopped = untilSignal(); // before the line scripts wait for
    // For scripts: the line that says where the bridge is.
    startLine(json, 'bastion mcp', running.url, process.stderr);
    const signal = await stopped;
    say(`${signal}: shutting down`);
    await running.close();
    return 0;
  } finally {
    token.dispose();
    if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  }
}
