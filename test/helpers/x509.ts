/**
 * Throwaway X.509 material made with openssl (a test prerequisite), for what SPIRE cannot be
 * made to send: a CA and leaves with chosen URI (SPIFFE ID), DNS and IP SANs, as PEM and as
 * the DER the Workload API carries (a PKCS#8 key, certificates back to back).
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Leaf {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certDer: Buffer;
  /** PKCS#8 DER. */
  readonly keyDer: Buffer;
}

export interface TestCa {
  readonly certPem: string;
  readonly certDer: Buffer;
  issue(sans: { uris?: string[]; dns?: string[]; ips?: string[] }): Leaf;
  /** Removes its working directory (throwaway keys). */
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function der(pem: string): Buffer {
  return Buffer.from(new X509Certificate(pem).raw);
}

export function testCa(name = 'bastion test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-x509-'));
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const certPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  let serial = 0;
  return {
    certPem,
    certDer: der(certPem),
    issue({ uris = [], dns = [], ips = [] }) {
      serial += 1;
      const sans = [
        ...uris.map((u) => `URI:${u}`),
        ...dns.map((d) => `DNS:${d}`),
        ...ips.map((i) => `IP:${i}`),
      ];
      writeFileSync(
        join(dir, 'ext.cnf'),
        [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature,keyEncipherment,keyAgreement',
          'extendedKeyUsage=serverAuth,clientAuth',
          ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
        ].join('\n') + '\n',
      );
      openssl(dir, ['req', ...EC, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/O=SPIRE']);
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(1000 + serial),
        '-days',
        '1',
        '-extfile',
        'ext.cnf',
        '-out',
        'leaf.pem',
      ]);
      const leafPem = readFileSync(join(dir, 'leaf.pem'), 'utf8');
      const keyPem = readFileSync(join(dir, 'leaf.key'), 'utf8');
      const keyDer = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
      return { certPem: leafPem, keyPem, certDer: der(leafPem), keyDer };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
