/**
 * A Windows-like world for a broker: a real MIT KDC (the `kerberos` backend's peer,
 * test/helpers/kdc.ts) and the WinRM double (the `winrm` connector's,
 * test/helpers/winrm-double.ts) behind a wire tap — a TCP proxy that counts connections and
 * keeps every byte each way — with the configuration entries that point a broker at them.
 * The tap shows whether anything reached the target, and lets the zero-credential proof
 * recover, as the target host could with its keytab, each service ticket the broker
 * presented, its session key and both subkeys (test/helpers/kerberos-wire.ts).
 */
import { type Kdc, startKdc } from './kdc.js';
import { wireSecrets, type WireSecrets } from './kerberos-wire.js';
import { type TcpProxy, startTcpProxy } from './tcp-proxy.js';
import { startWinrmDouble, type WinrmDouble } from './winrm-double.js';

/** The Windows-like target's name: its keytab is the KDC's `win1.bastion.test`. */
export const WINDOWS_TARGET = 'win1.bastion.test';
export const WINRM_ACCORD = 'windows-ops';
export const KERBEROS_BACKEND_ID = 'ad';

export interface WindowsWorldOptions {
  /** More target names the accord, the backend and the connector know (all to the double). */
  readonly moreTargets?: readonly string[];
  /** The accord's command policy (YAML flow text), if any. */
  readonly commands?: string;
}

export interface WindowsWorld {
  readonly kdc: Kdc;
  readonly double: WinrmDouble;
  /** In front of the double: every connection to the target goes through it. */
  readonly tap: TcpProxy;
  /** The mapped user of the proof's principal: `alice@BASTION.TEST`. */
  readonly user: string;
  /** The configuration's `kind: kerberos` entry (under `backends:`). */
  readonly backendYaml: string;
  /** The configuration's `winrm:` entry (under `connectors:`). */
  readonly connectorYaml: string;
  /** The accord for `did`, mapping it to `user`. */
  accordYaml(did: string): string;
  /** What the wire tap saw, opened with the target's keytab. */
  secrets(): WireSecrets;
  close(): Promise<void>;
}

export async function startWindowsWorld(options: WindowsWorldOptions = {}): Promise<WindowsWorld> {
  const targets = [WINDOWS_TARGET, ...(options.moreTargets ?? [])];
  const list = targets.map((t) => `"${t}"`).join(', ');
  const kdc = await startKdc();
  let double: WinrmDouble | undefined;
  let tap: TcpProxy | undefined;
  try {
    double = await startWinrmDouble(kdc, WINDOWS_TARGET);
    const sent: Buffer[] = [];
    const received: Buffer[] = [];
    tap = await startTcpProxy(double.port, {
      onClientData: (chunk) => sent.push(Buffer.from(chunk)),
      onServerData: (chunk) => received.push(Buffer.from(chunk)),
    });
    const user = kdc.users.alice.principal;
    const hostKeytab = kdc.hostKeytabs[WINDOWS_TARGET] ?? '';
    const { host, port } = kdc.kdcAddress;
    const started = { double, tap };
    return {
      kdc,
      double,
      tap,
      user,
      backendYaml: `  - kind: kerberos
    id: ${KERBEROS_BACKEND_ID}
    principal: ${kdc.broker.principal}
    keytab: ${kdc.broker.keytab}
    kdcs: ["${host}:${port}"]
    delegate_to: [${kdc.delegateTo.join(', ')}]
    targets: [${list}]
`,
      connectorYaml: `  winrm:
    scheme: Kerberos
    hosts: { ${targets.map((t) => `"${t}": { address: 127.0.0.1, port: ${started.tap.port} }`).join(', ')} }
`,
      accordYaml: (did) => `
  - id: ${WINRM_ACCORD}
    principals: [${did}]
    connectors: [winrm]
    targets: [${list}]
    capabilities: [exec]
    max_duration: 15m${options.commands === undefined ? '' : `\n    commands: ${options.commands}`}
    kerberos_principals: { "${did}": ${user} }`,
      secrets: () => wireSecrets(Buffer.concat(sent), Buffer.concat(received), hostKeytab),
      close: async () => {
        await started.tap.close();
        await started.double.stop();
        await kdc.stop();
      },
    };
  } catch (err) {
    await tap?.close();
    await double?.stop();
    await kdc.stop();
    throw err;
  }
}
