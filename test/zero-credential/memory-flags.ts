/**
 * How the broker (and the controls' holder) is run so that, after a full GC, a memory scan
 * finds what is held, not what was left over: V8 zero-fills the heap memory it frees, and
 * glibc fills each chunk it frees (`perturb`; with no per-thread cache, whose chunks it
 * would skip). V8's zero-fill alone misses dead strings on pages its sweeper leaves be (a
 * token string promoted, then dropped, was still there after the snapshot's GC): compacting
 * every page on a full GC moves what lives and gives the pages back, so none is left
 * (premise.test.ts shows both). Snapshot strings are whole, not cut at V8's 1024
 * characters, so a long string holding a token shows there too. Before any GC, memory
 * Bastion freed without zero-filling can still be there — unless glibc already filled it,
 * which is why the scan for unwiped keys runs on what the broker has not yet freed.
 */
export const MEMORY_FLAGS = [
  '--clear-free-memory',
  '--compact-on-every-full-gc',
  '--heap-snapshot-string-limit=1000000000',
];
export const MEMORY_ENV = {
  GLIBC_TUNABLES: 'glibc.malloc.perturb=165:glibc.malloc.tcache_count=0',
};
