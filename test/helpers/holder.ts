/**
 * The planted control of a memory scan or heap snapshot: a probed node child holding each
 * control needle as a JS string in a textual encoding (what a heap snapshot shows; under
 * 1000 characters, as V8 cuts longer strings there) and as a Buffer of its raw bytes (what
 * only a memory scan sees). Started with the flags and environment of the process it
 * stands beside, so its scans take the same paths.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { waitForLine } from './child-broker.js';
import { Probe, PROBE_PRELOAD } from './probe.js';
import { encodings, type Needle } from './scan.js';

export interface Holder {
  readonly child: ChildProcess;
  readonly probe: Probe;
  readonly pid: number;
  stop(): void;
}

const HOLD = `let t='';process.stdin.on('data',d=>t+=d);process.stdin.on('end',()=>{const h=JSON.parse(t);globalThis.keep=[h.strings,h.buffers.map(b=>Buffer.from(b,'base64'))];console.log('ready 1')});setInterval(()=>{},1000)`;

export async function startHolder(
  controls: readonly Needle[],
  options: { nodeArgs?: readonly string[]; env?: Record<string, string> } = {},
): Promise<Holder> {
  const strings = controls.map((n, i) => {
    const textual = encodings(n.bytes)
      .slice(1)
      .filter((f) => f.byteLength < 1000);
    return (textual[i % textual.length] ?? n.bytes).toString('latin1');
  });
  const child = spawn(
    process.execPath,
    ['--import', PROBE_PRELOAD, ...(options.nodeArgs ?? []), '-e', HOLD],
    {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'inherit', 'pipe', 'pipe'],
    },
  );
  const probe = new Probe(child);
  child.stdin?.end(
    JSON.stringify({ strings, buffers: controls.map((n) => n.bytes.toString('base64')) }),
  );
  await waitForLine(child, /ready (\d)/);
  return { child, probe, pid: child.pid ?? 0, stop: () => child.kill('SIGKILL') };
}
