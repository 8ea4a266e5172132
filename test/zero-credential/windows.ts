/**
 * The Windows part of the zero-credential proof's world: a real MIT KDC (the `kerberos`
 * backend's peer, test/helpers/kdc.ts) and the WinRM double (the `winrm` connector's,
 * test/helpers/winrm-double.ts) behind a wire tap — a TCP proxy that keeps every byte each
 * way — so that the proof can recover, as the target host could with its keytab, each
 * service ticket the broker presented, its session key and both subkeys
 * (test/helpers/kerberos-wire.ts), and look for them everywhere the broker may leave
 * something.
 */
import { type Kdc, startKdc } from '../helpers/kdc.js';
import { wireSecrets, type WireSecrets } from '../helpers/kerberos-wire.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';
import { startWinrmDouble, type WinrmDouble } from '../helpers/winrm-double.js';

/** The Windows-like target's name: its keytab is the KDC's `win1.bastion.test`. */
export const WINDOWS_TARGET = 'win1.bastion.test';
export const WINRM_ACCORD = 'windows-ops';
export const KERBEROS_BACKEND_ID = 'ad';

export interface WindowsWorld {
  readonly kdc: Kdc;
  readonly double: WinrmDouble;
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

export async function startWindowsWorld(): Promise<WindowsWorld> {
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
      user,
      backendYaml: `  - kind: kerberos
    id: ${KERBEROS_BACKEND_ID}
    principal: ${kdc.broker.principal}
    keytab: ${kdc.broker.keytab}
    kdcs: ["${host}:${port}"]
    delegate_to: [${kdc.delegateTo.join(', ')}]
    targets: ["${WINDOWS_TARGET}"]
`,
      connectorYaml: `  winrm:
    scheme: Kerberos
    hosts: { "${WINDOWS_TARGET}": { address: 127.0.0.1, port: ${tap.port} } }
`,
      accordYaml: (did) => `
  - id: ${WINRM_ACCORD}
    principals: [${did}]
    connectors: [winrm]
    targets: ["${WINDOWS_TARGET}"]
    capabilities: [exec]
    max_duration: 15m
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
