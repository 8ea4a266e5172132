/**
 * Benchmark child processes: the broker side of a measurement runs in its own Node process,
 * pinned to one core with `taskset`, so that the load generator (this process, pinned to
 * another core) never competes with it for CPU. Parent and child talk over Node's IPC
 * channel with a tiny request/reply protocol; only plain JSON crosses it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Where each side runs; decided once per run and reported with the results. */
export interface Placement {
  /** Core the broker-side children are pinned to, or undefined when not pinned. */
  readonly brokerCore: number | undefined;
  /** Core this process (load generator, SSH clients, sshd) is pinned to. */
  readonly loadCore: number | undefined;
  readonly cores: number;
  readonly note: string;
}

const TASKSET = '/usr/bin/taskset';

/**
 * Pins this process (all its threads) to the last core and reserves core 0 for the broker
 * side. Needs `taskset` and at least two cores; otherwise nothing is pinned and the
 * report says so, because the figures then include contention between the two sides.
 */
export function placeProcesses(): Placement {
  const cores = availableParallelism();
  if (cores < 2 || !existsSync(TASKSET)) {
    return {
      brokerCore: undefined,
      loadCore: undefined,
      cores,
      note: `not pinned (${cores} core(s), taskset ${existsSync(TASKSET) ? 'present' : 'missing'})`,
    };
  }
  const loadCore = cores - 1;
  try {
    execFileSync(TASKSET, ['-a', '-p', '-c', String(loadCore), String(process.pid)], {
      stdio: 'ignore',
    });
  } catch {
    return { brokerCore: 0, loadCore: undefined, cores, note: 'broker side pinned to core 0' };
  }
  return {
    brokerCore: 0,
    loadCore,
    cores,
    note: `broker side pinned to core 0 (1 core); load generator, clients and sshd on core ${loadCore}`,
  };
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface BenchChild {
  readonly pid: number;
  call<T>(cmd: string, args?: unknown): Promise<T>;
  /** Asks the child to close what it opened, then waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `script` (a sibling .ts/.js file) in a new Node process with this process's
 * flags (`--expose-gc --import tsx`), pinned to `core` when given.
 */
export function spawnChild(script: URL, core: number | undefined): BenchChild {
  const node = [process.execPath, ...process.execArgv, fileURLToPath(script)];
  const [cmd = '', ...args] = core === undefined ? node : [TASKSET, '-c', String(core), ...node];
  const child: ChildProcess = spawn(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BASTION_BENCH_CHILD: '1' },
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const p of pending.values()) {
        p.reject(new Error(`bench child exited (${signal ?? String(code)}) before replying`));
      }
      pending.clear();
      resolve();
    });
  });
  child.on('message', (raw: unknown) => {
    const reply = raw as Reply;
    const waiter = pending.get(reply.id);
    if (waiter === undefined) return;
    pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new Error(reply.error ?? 'bench child failed'));
  });
  const call = <T>(cmdName: string, callArgs?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, cmd: cmdName, args: callArgs ?? null });
    });
  return {
    pid: child.pid ?? -1,
    call,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.connected) {
        await call('exit').catch(() => undefined);
      }
      // A child that does not leave within 10 s is stuck: end it (only this one, by pid).
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export type Handler = (args: unknown) => Promise<unknown>;

/**
 * The child side: answers the parent's calls with `handlers`; `exit` runs `onExit` (close
 * servers, remove temporary files) and then leaves.
 */
export function serveParent(handlers: Record<string, Handler>, onExit: () => Promise<void>): void {
  const send = (reply: Reply): Promise<void> =>
    new Promise((resolve) => {
      process.send?.(reply, undefined, {}, () => resolve());
    });
  process.on('message', (raw: unknown) => {
    const { id, cmd, args } = raw as { id: number; cmd: string; args: unknown };
    void (async () => {
      if (cmd === 'exit') {
        await onExit().catch(() => undefined);
        await send({ id, ok: true });
        // Nothing of ours is left open; do not wait for a stray handle to let go.
        process.exit(0);
      }
      const handler = handlers[cmd];
      try {
        if (handler === undefined) throw new Error(`unknown bench command ${cmd}`);
        await send({ id, ok: true, result: await handler(args) });
      } catch (err) {
        await send({
          id,
          ok: false,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
      }
    })();
  });
}

/** A sibling module's URL, with this module's own extension (.ts under tsx, .js when built). */
export function sibling(from: string, name: string): URL {
  const ext = from.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`${name}${ext}`, from);
}
