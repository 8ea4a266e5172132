/**
 * A thief's SSH client, for the stolen-credential tests: a plain ssh2 client (through the
 * certificate patch, as any client with certificate support) that logs in with a copied
 * certificate and key, asks for any command, and may connect from another local address
 * (127.0.0.2: the whole of 127/8 is loopback on Linux) — nothing of the broker's checks.
 */
import type { SshCertCredential } from '../../src/credentials/types.js';
import { certificateAuthKey } from '../../src/ssh/ssh-key.js';
import { ssh2, type Ssh2ConnectConfig, type Ssh2Error } from '../../src/ssh/ssh2-cert-patch.js';

/** What a thief keeps: the public certificate and a copy of the private key's bytes. */
export interface StolenSsh {
  readonly certificate: string;
  readonly key: Buffer;
}

/** Copies an issued SSH credential as it is handed to the transport. */
export function steal(credential: SshCertCredential): StolenSsh {
  return {
    certificate: credential.certificate,
    key: Buffer.from(credential.privateKey.unsafeReveal()),
  };
}

export type StolenRun =
  | { readonly ran: true; readonly stdout: string; readonly exitCode: number | null }
  | { readonly ran: false; readonly level: string };

/** Runs `command` with the stolen pair; says whether sshd let it in, and what came back. */
export function runStolen(
  stolen: StolenSsh,
  to: { port: number; username: string; command: string; localAddress?: string },
): Promise<StolenRun> {
  const key = certificateAuthKey({
    certificate: stolen.certificate,
    privateKey: { use: (fn) => fn(stolen.key) },
  });
  const client = new ssh2.Client();
  return new Promise<StolenRun>((resolve) => {
    let stdout = '';
    let exitCode: number | null = null;
    client.on('error', (err: Ssh2Error) => resolve({ ran: false, level: err.level ?? 'unknown' }));
    client.on('ready', () => {
      client.exec(to.command, (err, channel) => {
        if (err !== undefined) return resolve({ ran: false, level: 'exec' });
        channel.on('data', (chunk) => (stdout += chunk.toString()));
        channel.stderr.on('data', () => undefined);
        channel.on('exit', (code) => (exitCode = code));
        channel.on('close', () => resolve({ ran: true, stdout, exitCode }));
        channel.end();
      });
    });
    const config: Ssh2ConnectConfig & { localAddress?: string } = {
      host: '127.0.0.1',
      port: to.port,
      username: to.username,
      authHandler: [{ type: 'publickey', username: to.username, key }],
      // A thief does not care whose host it is; the tests' sshd is the only one here.
      hostVerifier: () => true,
      readyTimeout: 10_000,
      tryKeyboard: false,
      ...(to.localAddress !== undefined ? { localAddress: to.localAddress } : {}),
    };
    client.connect(config);
  }).finally(() => client.end());
}

/** sshd's VERBOSE lines for sessions whose command the certificate forced (sshd logs `\` as `\\`). */
export function forcedLines(log: string, command: string): number {
  const line = `Starting session: forced-command (key-option) '${command.replaceAll('\\', '\\\\')}'`;
  return log.split('\n').filter((l) => l.includes(line)).length;
}
