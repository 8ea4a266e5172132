/**
 * Leak scanning for the zero-credential proof. A needle is a secret's bytes, searched for in
 * every encoding a leak would plausibly take — raw; hex, lower and upper case; base64 and
 * base64url at each of the three byte alignments a substring can have inside a longer
 * encoding — and also once line breaks (raw, or escaped in JSON) are taken out, since a PEM
 * wraps its base64. Haystacks: bytes, the files below some roots changed since a time, and
 * the anonymous memory of a live process through /proc/PID/mem.
 *
 * Many needles in every encoding make thousands of forms, and the haystacks run to hundreds
 * of megabytes: a NeedleSet finds all forms in one pass (a rolling hash over each form's
 * first bytes, checked exactly on a hit) instead of one indexOf per form.
 */
import assert from 'node:assert/strict';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface Needle {
  /** What the needle stands for, for failure messages (never the value). */
  readonly label: string;
  readonly bytes: Buffer;
}

export function needle(label: string, value: string | Buffer): Needle {
  return { label, bytes: typeof value === 'string' ? Buffer.from(value) : value };
}

/** The fully determined characters of base64(`pad` zero bytes + `bytes`). */
function alignedBase64(bytes: Buffer, pad: number, url: boolean): string {
  const text = Buffer.concat([Buffer.alloc(pad), bytes]).toString(url ? 'base64url' : 'base64');
  // Skip the characters that mix in the pad bytes, and the last (partial) group.
  const start = Math.ceil((pad * 8) / 6);
  const usable = Math.floor(((pad + bytes.byteLength) * 8) / 6);
  return text.slice(start, usable);
}

/** Encoded forms shorter than this are too likely to occur by chance, and are dropped. */
const MIN_FORM = 16;

/** Every textual form of `bytes` worth searching for, the raw bytes first. */
export function encodings(bytes: Buffer): Buffer[] {
  const hex = bytes.toString('hex');
  const forms = new Set<string>([hex, hex.toUpperCase()]);
  for (const pad of [0, 1, 2]) {
    forms.add(alignedBase64(bytes, pad, false));
    forms.add(alignedBase64(bytes, pad, true));
  }
  return [
    bytes,
    ...[...forms].filter((f) => f.length >= MIN_FORM).map((f) => Buffer.from(f, 'latin1')),
  ];
}

/** Bytes hashed at each sampled position (two 32-bit words). */
const WINDOW = 8;
/** Every STRIDE-th haystack position is sampled; a form is hashed at offsets 0..STRIDE-1. */
const STRIDE = 4;
/** Bits of the hash that index the prefilter bitmap. */
const FILTER_BITS = 24;
const C1 = 0x9e3779b1;
const C2 = 0x85ebca77;

if (endianness() !== 'LE') throw new Error('scan.ts reads haystacks as little-endian words');

interface Candidate {
  readonly label: string;
  readonly bytes: Buffer;
  /** Where in the form the hashed window starts. */
  readonly offset: number;
}

function windowHash(w0: number, w1: number): number {
  return Math.imul(w0, C1) ^ Math.imul(w1, C2);
}

/**
 * Needles compiled for one-pass search. The haystack is read as 32-bit words and an 8-byte
 * window hashed at every 4th byte; any occurrence of a form (at least MIN_FORM ≥ 11 bytes)
 * puts one of its first four windows on such a position, so each form registers those
 * four, and a hit is checked byte for byte.
 */
export class NeedleSet {
  readonly #byHash = new Map<number, Candidate[]>();
  readonly #filter = new Uint8Array(1 << (FILTER_BITS - 3));
  /** The longest form: how far chunks of a larger haystack must overlap. */
  readonly longest: number;

  constructor(readonly needles: readonly Needle[]) {
    let longest = 0;
    for (const n of needles) {
      for (const bytes of encodings(n.bytes)) {
        if (bytes.byteLength < MIN_FORM) throw new RangeError(`needle ${n.label} is too short`);
        longest = Math.max(longest, bytes.byteLength);
        for (let offset = 0; offset < STRIDE; offset++) {
          const h = windowHash(bytes.readUInt32LE(offset), bytes.readUInt32LE(offset + 4));
          const bit = h >>> (32 - FILTER_BITS);
          this.#filter[bit >>> 3] = (this.#filter[bit >>> 3] ?? 0) | (1 << (bit & 7));
          const list = this.#byHash.get(h) ?? [];
          list.push({ label: n.label, bytes, offset });
          this.#byHash.set(h, list);
        }
      }
    }
    this.longest = longest;
  }

  /** Labels of the needles found in `haystack`, as is or without its line breaks. */
  find(haystack: Buffer): string[] {
    const found = new Set<string>();
    this.#search(haystack, found);
    this.#search(withoutLineBreaks(haystack), found);
    return [...found];
  }

  #search(haystack: Buffer, found: Set<string>): void {
    // Word access needs 4-byte alignment.
    const hay = haystack.byteOffset % 4 === 0 ? haystack : Buffer.from(haystack);
    const words = new Uint32Array(hay.buffer, hay.byteOffset, hay.byteLength >>> 2);
    const filter = this.#filter;
    const last = words.length - WINDOW / 4;
    let w0 = words[0] ?? 0;
    for (let j = 0; j <= last; j++) {
      const w1 = words[j + 1] ?? 0;
      const h = windowHash(w0, w1);
      w0 = w1;
      const bit = h >>> (32 - FILTER_BITS);
      if (((filter[bit >>> 3] ?? 0) & (1 << (bit & 7))) === 0) continue;
      for (const c of this.#byHash.get(h) ?? []) {
        const start = j * STRIDE - c.offset;
        const end = start + c.bytes.byteLength;
        if (start >= 0 && end <= hay.byteLength && hay.subarray(start, end).equals(c.bytes)) {
          found.add(c.label);
        }
      }
    }
  }
}

/**
 * The bytes without CR and LF, raw or escaped (`\r`, `\n` as in JSON). Runs between breaks
 * are found with indexOf and copied whole: a byte-by-byte loop is several times slower on
 * the hundreds of megabytes of a process's memory.
 */
function withoutLineBreaks(buf: Buffer): Buffer {
  const n = buf.byteLength;
  const out = Buffer.allocUnsafeSlow(n);
  const next = [0x0a, 0x0d, 0x5c].map((byte) => ({ byte, at: -1 }));
  let o = 0;
  let i = 0;
  while (i < n) {
    let j = n;
    for (const x of next) {
      if (x.at < i) {
        const k = buf.indexOf(x.byte, i);
        x.at = k === -1 ? n : k;
      }
      j = Math.min(j, x.at);
    }
    o += buf.copy(out, o, i, j);
    if (j >= n) break;
    i = j + 1;
    if (buf[j] === 0x5c) {
      const escaped = buf[j + 1];
      if (escaped === 0x6e || escaped === 0x72) i = j + 2;
      else out[o++] = 0x5c;
    }
  }
  return out.subarray(0, o);
}

/** Labels of the needles (in any encoding) found in `haystack`. */
export function findIn(haystack: Buffer, needles: readonly Needle[] | NeedleSet): string[] {
  return (needles instanceof NeedleSet ? needles : new NeedleSet(needles)).find(haystack);
}

export interface FileFindings {
  readonly file: string;
  readonly found: string[];
}

/**
 * Every regular file below `roots` whose status changed at or after `changedSince` (epoch
 * ms; 0 for all), with what each holds of the needles. Symbolic links are not followed and
 * other file systems not entered; files that vanish or cannot be read mid-walk (other
 * processes share these directories) are passed over.
 */
export function scanFiles(
  roots: readonly string[],
  needles: readonly Needle[] | NeedleSet,
  changedSince = 0,
): FileFindings[] {
  const set = needles instanceof NeedleSet ? needles : new NeedleSet(needles);
  const seen = new Set<string>();
  const out: FileFindings[] = [];
  const walk = (dir: string, device: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      try {
        const st = lstatSync(path);
        if (st.dev !== device) continue;
        if (st.isDirectory()) walk(path, device);
        else if (st.isFile() && st.ctimeMs >= changedSince && !seen.has(path)) {
          seen.add(path);
          out.push({ file: path, found: set.find(readFileSync(path)) });
        }
      } catch {
        // Gone, or not ours to read.
      }
    }
  };
  for (const root of roots) walk(root, lstatSync(root).dev);
  return out;
}

/** Which anonymous mappings of a process to read. */
export interface MemoryScanOptions {
  /**
   * Also the main thread's stack. Its unused part below the stack pointer keeps the bytes
   * of the last calls into native code (a string written to a socket), which is no
   * retention; a scan after a full GC leaves it out.
   */
  readonly stack?: boolean;
}

/**
 * Searches the readable private anonymous mappings of a live process (heap, anonymous
 * memory, thread stacks) via /proc/PID/mem. Returns undefined when the kernel does not let
 * us read it.
 */
export function scanProcessMemory(
  pid: number,
  needles: readonly Needle[] | NeedleSet,
  options: MemoryScanOptions = {},
): string[] | undefined {
  const set = needles instanceof NeedleSet ? needles : new NeedleSet(needles);
  let maps: string;
  let fd: number;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    fd = openSync(`/proc/${pid}/mem`, 'r');
  } catch {
    return undefined;
  }
  const found = new Set<string>();
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  const overlap = set.longest * 2;
  let readable = false;
  try {
    for (const line of maps.split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (r)[-w][-x]p /.exec(line);
      if (m === null) continue;
      // Skip mapped files (code, libraries): credentials live in anonymous memory.
      const path = line.split(/\s+/)[5] ?? '';
      if (path !== '' && !path.startsWith('[')) continue;
      if (path === '[stack]' && options.stack === false) continue;
      let at = Number.parseInt(m[1] ?? '0', 16);
      const end = Number.parseInt(m[2] ?? '0', 16);
      while (at < end) {
        const len = Math.min(chunk.byteLength, end - at);
        let n = 0;
        try {
          n = readSync(fd, chunk, 0, len, at);
        } catch {
          break;
        }
        readable ||= n > 0;
        for (const label of set.find(chunk.subarray(0, n))) found.add(label);
        if (n < len || at + len >= end) break;
        // Overlap the chunks so a needle straddling a boundary is still seen.
        at += len - overlap;
      }
    }
  } finally {
    closeSync(fd);
  }
  // Opening can succeed where every read is refused (ptrace denied): that is unreadable.
  return readable ? [...found] : undefined;
}

/**
 * Whether a memory scan could run. Where /proc/PID/mem cannot be read (no ptrace
 * permission) the test is skipped, saying why — except in CI (`CI` set, as
 * scripts/test-all.sh sets it), where a scan that cannot run fails.
 */
export function memoryReadable(t: TestContext, found: string[] | undefined): found is string[] {
  if (found !== undefined) return true;
  const ci = process.env['CI'] ?? '';
  if (ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false') {
    assert.fail('/proc/PID/mem cannot be read, and CI is set: the memory scan must run in CI');
  }
  t.skip('/proc/PID/mem is not readable here (no ptrace permission); in CI this fails');
  return false;
}
