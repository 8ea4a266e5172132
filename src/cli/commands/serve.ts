/**
 * `bastion serve --config FILE [--data-dir DIR] [--listen HOST:PORT]`: the broker. Flags
 * override the file; SIGHUP reopens the audit sink file (log rotation), reloads the signing
 * keys (after `bastion keys rotate`) and the
 * configuration's accords and admins, which then apply to live ACs at once;
 * SIGTERM/SIGINT close the listener, finish in-flight requests and close the store.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadConfig } from '../../config/config.js';
import { BastionError, InvalidArgumentError } from '../../base/errors.js';
import { startServer } from '../../server/app.js';
import { parseCommandArgs, required, startLine } from '../args.js';
import { FLAGS } from '../flags.js';
import { closeOnSignal, untilSignal } from '../signals.js';

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (host === undefined || !Number.isInteger(port) || port > 65535)
    throw new InvalidArgumentError('--listen (HOST:PORT)');
  return { host, port };
}

export async function runServe(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args: args,
      options: FLAGS.serve,
      strict: true,
    }),
  );
  const file = required(values.config, '--config');
  const config = loadConfig(file);
  if (values['data-dir'] !== undefined) config.data_dir = resolve(values['data-dir']);
  if (values.listen !== undefined) config.listen = parseListen(values.listen);

  const server = await startServer({ config });
  server.app.log.info(
    {
      url: server.url,
      data_dir: config.data_dir,
      accords: config.accords.length,
      kid: server.keyring.activeKid,
    },
    'bastion listening',
  );
  // Every handler before the line scripts wait for: a signal sent on reading it is handled.
  const stopped = untilSignal();
  process.on('SIGHUP', () => {
    // The audit sink: a fresh file at its path, after log rotation renamed the old one.
    server.audit.reopenSink().then(
      (reopened) => reopened && server.app.log.info('audit sink reopened'),
      () => server.app.log.error('audit sink reopen failed; writing to the current file'),
    );
    server.keyring.refresh().then(
      () => server.app.log.info({ kid: server.keyring.activeKid }, 'signing keys reloaded'),
      (err: unknown) =>
        server.app.log.error({ err }, 'signing key reload failed; keeping the current keys'),
    );
    // The certificate and key too, for new connections; open ones and the listener stay.
    try {
      if (server.reloadTls()) server.app.log.info('TLS certificate and key reloaded');
    } catch (err) {
      const why = err instanceof BastionError ? err.message : 'internal_error';
      server.app.log.error({ why }, 'TLS reload failed; keeping the current certificate');
    }
    // The configuration too: a file that does not validate changes nothing, and says why
    // (a ConfigError names the file, key and reason, never a value).
    try {
      const next = loadConfig(file);
      // The command line's overrides hold across reloads.
      next.data_dir = config.data_dir;
      next.listen = config.listen;
      server.reload(next);
    } catch (err) {
      const why = err instanceof BastionError ? err.message : 'internal_error';
      server.app.log.error({ why }, 'configuration reload failed; keeping the current one');
    }
  });
  if (server.plainHttpExposed) {
    process.stderr.write(
      `bastion: WARNING: plain HTTP on ${server.url}, reachable from other hosts: ACs and DPoP proofs cross the network in clear text. Configure tls: (cert_file, key_file) or listen on 127.0.0.1 behind a TLS proxy.\n`,
    );
  }
  // For scripts: the one line on stdout says where the broker is.
  startLine(values.json === true, 'bastion', server.url);
  await closeOnSignal(server, server.app.log, stopped);
  return 0;
}
