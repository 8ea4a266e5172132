/**
 * Leak scanning for the zero-credential proof: needles in every encoding a secret can take
 * (raw, hex, base64 and base64url at each of the three byte alignments a substring can
 * have inside a longer encoding), searched in files, text, heap snapshots and, where the
 * kernel allows, the raw memory of a live process.
 */
import { readFileSync, readdirSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export interface Needle {
  /** What the needle stands for, for failure messages (never the value). */
  readonly label: string;
  readonly bytes: Buffer;
}

/** The fully determined characters of base64(`prefix` zero bytes + `bytes`). */
function alignedBase64(bytes: Buffer, pad: number, url: boolean): string {
  const text = Buffer.concat([Buffer.alloc(pad), bytes]).toString(url ? 'base64url' : 'base64');
  // Skip the characters that mix in the pad bytes, and the last (partial) group.
  const start = Math.ceil((pad * 8) / 6);
  const usable = Math.floor(((pad + bytes.byteLength) * 8) / 6);
  return text.slice(start, usable);
}

/** Every textual form of `bytes` worth searching for. */
export function encodings(bytes: Buffer): Buffer[] {
  const forms = new Set<string>([bytes.toString('hex')]);
  for (const pad of [0, 1, 2]) {
    forms.add(alignedBase64(bytes, pad, false));
    forms.add(alignedBase64(bytes, pad, true));
  }
  return [bytes, ...[...forms].filter((f) => f.length >= 16).map((f) => Buffer.from(f, 'latin1'))];
}

export function needle(label: string, value: string | Buffer): Needle {
  return { label, bytes: typeof value === 'string' ? Buffer.from(value) : value };
}

/**
 * Labels of the needles (in any encoding) found in `haystack`, also once line breaks (raw,
 * or escaped in JSON) are taken out: a PEM wraps its base64 every 64 or 70 characters.
 */
export function findIn(haystack: Buffer, needles: readonly Needle[]): string[] {
  const joined = Buffer.from(haystack.toString('latin1').replace(/\r|\n|\\r|\\n/g, ''), 'latin1');
  const found = new Set<string>();
  for (const n of needles) {
    for (const form of encodings(n.bytes)) {
      if (haystack.indexOf(form) !== -1 || joined.indexOf(form) !== -1) found.add(n.label);
    }
  }
  return [...found];
}

/** Every regular file below `dir`, with what each holds of the needles. */
export function scanDir(
  dir: string,
  needles: readonly Needle[],
): { file: string; found: string[] }[] {
  const out: { file: string; found: string[] }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...scanDir(path, needles));
    else if (st.isFile()) out.push({ file: path, found: findIn(readFileSync(path), needles) });
  }
  return out;
}

/** The bytes without LF and CR, so a PEM's wrapped base64 reads as one run. */
function withoutNewlines(buf: Buffer): Buffer {
  const out = Buffer.allocUnsafe(buf.byteLength);
  let o = 0;
  for (let i = 0; i < buf.byteLength; i++) {
    const b = buf[i] ?? 0;
    if (b !== 0x0a && b !== 0x0d) out[o++] = b;
  }
  return out.subarray(0, o);
}

/**
 * Searches the readable private mappings of a live process (heap, anonymous memory) via
 * /proc/PID/mem. Returns undefined when the kernel does not let us read it.
 */
export function scanProcessMemory(pid: number, needles: readonly Needle[]): string[] | undefined {
  let maps: string;
  let fd: number;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    fd = openSync(`/proc/${pid}/mem`, 'r');
  } catch {
    return undefined;
  }
  const found = new Set<string>();
  const forms = needles.flatMap((n) => encodings(n.bytes).map((f) => ({ label: n.label, f })));
  const overlap = Math.max(...forms.map((x) => x.f.byteLength));
  try {
    for (const line of maps.split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (r)[-w][-x]p /.exec(line);
      if (m === null) continue;
      // Skip mapped files (code, libraries): credentials live in anonymous memory.
      const path = line.split(/\s+/)[5] ?? '';
      if (path !== '' && !path.startsWith('[')) continue;
      let at = Number.parseInt(m[1] ?? '0', 16);
      const end = Number.parseInt(m[2] ?? '0', 16);
      const chunk = Buffer.alloc(4 * 1024 * 1024);
      while (at < end) {
        const len = Math.min(chunk.byteLength, end - at);
        let n = 0;
        try {
          n = readSync(fd, chunk, 0, len, at);
        } catch {
          break;
        }
        const view = chunk.subarray(0, n);
        const joined = withoutNewlines(view);
        for (const { label, f } of forms) {
          if (view.indexOf(f) !== -1 || joined.indexOf(f) !== -1) found.add(label);
        }
        if (n < len || at + len >= end) break;
        // Overlap the chunks so a needle straddling a boundary is still seen.
        at += len - overlap;
      }
    }
  } finally {
    closeSync(fd);
  }
  return [...found];
}
