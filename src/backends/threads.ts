/**
 * The worker pool: n − 1 workers plus the calling thread, all running the same
 * shared-memory wasm build over one shared WebAssembly.Memory.
 *
 * A parallel call publishes one job — a kernel, its arguments as an affine
 * function of the chunk's rows, and a number of row chunks — in a small
 * SharedArrayBuffer (layout and claiming protocol in worker.ts), wakes the
 * workers with Atomics.notify, and then claims chunks itself like any worker
 * until none are left; it returns when every chunk is finished. Work is split
 * by rows, so every row is computed by the same code as on one thread and the
 * results are bit-identical. Because the caller works through the queue too, a
 * worker that wakes late costs nothing: the caller has taken its chunks.
 * The public API stays synchronous:
 * - Node: the caller sleeps in Atomics.wait for the last chunks in flight.
 * - Browser main thread, where Atomics.wait throws: it spins on Atomics.load.
 *   The spin only covers chunks another thread is still computing (at most one
 *   chunk each), so it is short; the UI is blocked for the duration of the call
 *   either way, as with any synchronous op.
 * - Browser workers may block, and do.
 * Workers are unref'd in Node once started, so a process that never calls
 * dispose() still exits.
 */
import { ARGS_OFFSET, CLOSED, CONTROL_BYTES, Ctl, GEN_MASK, IDX_BITS, IDX_MASK, MAX_ARGS, WORKER_SOURCE } from './worker.js';

/** The part of Node's Worker and the browser's Worker the pool uses. */
interface WorkerHandle {
  post(message: unknown): void;
  onMessage(f: (m: unknown) => void): void;
  onError(f: (e: unknown) => void): void;
  unref(): void;
  terminate(): void;
}

type NodeWorkerModule = {
  Worker: new (src: string, o: { eval: true }) => {
    postMessage(m: unknown): void;
    on(ev: string, f: (v: unknown) => void): void;
    unref(): void;
    terminate(): Promise<number>;
  };
};

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (name: string) => unknown;
}

const nodeProcess = (globalThis as { process?: NodeProcess }).process;
/** Running in Node (not a browser or a browser-like runtime). */
export const isNode = typeof nodeProcess?.versions?.node === 'string';

/**
 * A Node built-in without a static import, so browser bundles never see one.
 * process.getBuiltinModule exists from Node 20.16; older Node imports it.
 */
async function nodeBuiltin<T>(name: string): Promise<T> {
  if (typeof nodeProcess?.getBuiltinModule === 'function') return nodeProcess.getBuiltinModule(name) as T;
  const specifier = name; // a variable: bundlers leave this import alone
  return (await import(/* @vite-ignore */ specifier)) as T;
}

export type ThreadSupport = { ok: true } | { ok: false; reason: string };

/** What threadSupport() looks at; tests pass their own to play a browser. */
export interface ThreadEnvironment {
  isNode: boolean;
  hasWorker: boolean;
  crossOriginIsolated: boolean | undefined;
  hasSharedMemory: boolean;
}

function currentEnvironment(): ThreadEnvironment {
  const g = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown };
  return {
    isNode,
    hasWorker: typeof g.Worker === 'function',
    crossOriginIsolated: g.crossOriginIsolated,
    hasSharedMemory: typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object',
  };
}

/** Whether a worker pool can run here, and if not, why (for the one-time warning). */
export function threadSupport(env: ThreadEnvironment = currentEnvironment()): ThreadSupport {
  if (!env.isNode) {
    if (!env.hasWorker) return { ok: false, reason: 'this environment has no Web Workers' };
    if (env.crossOriginIsolated !== true)
      return {
        ok: false,
        reason:
          'the page is not cross-origin isolated, so SharedArrayBuffer is unavailable; serve it with the headers ' +
          '"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" (or "credentialless")',
      };
  }
  if (!env.hasSharedMemory)
    return {
      ok: false,
      reason:
        env.crossOriginIsolated === true
          ? // WebKitGTK and WPE WebKit (2.50): crossOriginIsolated is true, yet SharedArrayBuffer is not
            // exposed and posting shared wasm memory to a worker throws DataCloneError.
            'the page is cross-origin isolated, but this browser has no SharedArrayBuffer (WebKitGTK and WPE WebKit do not enable it), so wasm memory cannot be shared with workers'
          : 'this runtime has no SharedArrayBuffer/Atomics',
    };
  return { ok: true };
}

/** Logical cores: what init({ threads: 'auto' }) uses. */
export async function hardwareThreads(): Promise<number> {
  if (isNode) {
    const os = await nodeBuiltin<{ availableParallelism?: () => number; cpus(): unknown[] }>('os');
    return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n >= 1 ? Math.floor(n) : 1;
}

async function spawnWorker(): Promise<WorkerHandle> {
  if (isNode) {
    const { Worker } = await nodeBuiltin<NodeWorkerModule>('worker_threads');
    const w = new Worker(WORKER_SOURCE, { eval: true });
    return {
      post: (m) => w.postMessage(m),
      onMessage: (f) => w.on('message', f),
      onError: (f) => w.on('error', f),
      unref: () => w.unref(),
      terminate: () => void w.terminate(),
    };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url);
  return {
    post: (m) => w.postMessage(m),
    onMessage: (f) => w.addEventListener('message', (e) => f(e.data)),
    onError: (f) => w.addEventListener('error', (e) => f(e.message)),
    unref: () => {},
    terminate: () => {
      w.terminate();
      URL.revokeObjectURL(url); // kept until now: revoking while the worker loads can fail it
    },
  };
}

/** Can this thread sleep in Atomics.wait? (Not a browser main thread.) */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // value differs: returns at once
    return true;
  } catch {
    return false;
  }
}

/** How long init() waits for the workers to instantiate the module. */
const START_TIMEOUT_MS = 15_000;

/** How long the caller polls for the last chunks before it sleeps in Atomics.wait (ms). */
const SPIN_BEFORE_WAIT_MS = 0.25;

/**
 * One parallel call: kernel `fn` over rows [0, rows) in `chunks` chunks of
 * `chunkRows` rows; chunk [begin, end) gets arguments base + perBegin·begin + perEnd·end.
 */
export interface Job {
  fn: number;
  rows: number;
  chunkRows: number;
  chunks: number;
  base: number[];
  perBegin: number[];
  perEnd: number[];
}

export class ThreadPool {
  /** Threads that share a parallel call: the workers plus the calling thread. */
  readonly size: number;
  readonly #workers: WorkerHandle[];
  readonly #ctl: Int32Array;
  readonly #vec: Float64Array;
  readonly #block: boolean;
  #gen = 0;
  #broken: string | null = null;
  #disposed = false;
  /** A job is in flight: calls made meanwhile (run's `meanwhile`) must not start another on the control block. */
  #busy = false;

  private constructor(workers: WorkerHandle[], control: SharedArrayBuffer) {
    this.#workers = workers;
    this.size = workers.length + 1;
    this.#ctl = new Int32Array(control, 0, ARGS_OFFSET / 4);
    this.#vec = new Float64Array(control, ARGS_OFFSET, 3 * MAX_ARGS);
    this.#block = canBlock();
    for (const w of workers)
      w.onError((e) => {
        this.#broken = `a worker failed: ${String((e as Error)?.message ?? e)}`;
      });
  }

  /**
   * Creates `count` workers, which boot on their own threads from here on; pass them to start().
   * Separate so that a caller can let them boot while its own thread does something else.
   */
  static async spawn(count: number): Promise<WorkerHandle[]> {
    const workers: WorkerHandle[] = [];
    try {
      for (let i = 0; i < count; i++) workers.push(await spawnWorker());
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return workers;
  }

  /**
   * Starts a pool of `workers` (from spawn()) and the calling thread: each worker instantiates `module`
   * over `memory` and resolves the exports named in `names`. Resolves once every worker is ready; on
   * failure the workers are terminated.
   */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, workers: readonly WorkerHandle[], names: readonly string[]): Promise<ThreadPool> {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    Atomics.store(new Int32Array(control), Ctl.WORD, CLOSED); // generation 0, nothing to claim
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      // A worker that never answers (a CSP that blocks blob: workers, say) must
      // not hang init(): give up and let init() fall back to one thread.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the worker pool did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      });
      const ready = Promise.all(
        workers.map(
          (w, slot) =>
            new Promise<void>((resolve, reject) => {
              w.onMessage((m) => {
                const msg = m as { ready?: boolean; error?: string };
                if (msg.ready) resolve();
                else reject(new Error(`worker ${slot + 1} could not start: ${msg.error ?? 'unknown error'}`));
              });
              w.onError((e) => reject(new Error(`worker ${slot + 1} failed to start: ${String((e as Error)?.message ?? e)}`)));
              w.post({ module, memory, control, names: [...names] });
            }),
        ),
      );
      ready.catch(() => {}); // after a timeout its late failure has no one to tell
      await Promise.race([ready, timeout]);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    // Kept referenced while starting (an awaited init() must not let the process
    // exit early); from now on idle workers must not keep a process alive.
    for (const w of workers) w.unref();
    return new ThreadPool([...workers], control);
  }

  /** Chunks the workers (not the calling thread) have computed so far. */
  get workerChunks(): number {
    return Atomics.load(this.#ctl, Ctl.WORKER_CHUNKS);
  }

  /**
   * False once disposed or after a worker died, and while a job is in flight (engine calls made by
   * run's `meanwhile`): callers then compute on their own thread.
   */
  get usable(): boolean {
    return !this.#disposed && this.#broken === null && !this.#busy;
  }

  /**
   * Runs `job` on the pool and the calling thread; `local(begin, end)` computes
   * rows [begin, end) on this thread (the same call a worker makes). Returns when
   * every chunk is done; throws if one failed (a worker's failure is reported
   * as such, this thread's own exception as it is).
   *
   * `meanwhile`: JavaScript this thread runs once the workers have the job, before it claims
   * chunks itself (they claim the chunks it does not get to, so the job balances itself). It gets no
   * pool: engine calls it makes run on this thread (`usable` is false until the job ends). Should it
   * throw, the job is still finished before the exception goes on.
   */
  run(job: Job, local: (begin: number, end: number) => void, meanwhile: (() => void) | null = null): void {
    const n = job.base.length;
    if (n > MAX_ARGS || job.chunks > CLOSED - 1) throw new Error(`logitkit: a pool job takes at most ${MAX_ARGS} arguments`);
    const ctl = this.#ctl;
    const vec = this.#vec;
    const gen = (this.#gen = (this.#gen % GEN_MASK) + 1); // 1 … GEN_MASK
    // Close first: a worker still looking at the previous job must not claim a
    // chunk while the fields below are rewritten.
    Atomics.store(ctl, Ctl.WORD, (gen << IDX_BITS) | CLOSED);
    ctl[Ctl.FN] = job.fn;
    ctl[Ctl.NARGS] = n;
    ctl[Ctl.NCHUNKS] = job.chunks;
    ctl[Ctl.CHUNK_ROWS] = job.chunkRows;
    ctl[Ctl.ROWS] = job.rows;
    ctl[Ctl.FINISHED] = 0;
    ctl[Ctl.FAILED] = 0;
    for (let j = 0; j < n; j++) {
      vec[j] = job.base[j]!;
      vec[MAX_ARGS + j] = job.perBegin[j]!;
      vec[2 * MAX_ARGS + j] = job.perEnd[j]!;
    }
    Atomics.store(ctl, Ctl.WORD, gen << IDX_BITS); // publishes the fields written above
    Atomics.notify(ctl, Ctl.WORD);
    this.#busy = true;
    let threw = false;
    let early: unknown = null;
    try {
      if (meanwhile !== null)
        try {
          meanwhile();
        } catch (e) {
          threw = true;
          early = e;
        }
      this.#finish(job, local);
    } finally {
      this.#busy = false;
    }
    if (threw) throw early;
  }

  /** This thread's part of a published job: claims chunks until none is left, then waits for the rest. */
  #finish(job: Job, local: (begin: number, end: number) => void): void {
    const ctl = this.#ctl;
    let localError: unknown = null;
    for (;;) {
      const w = Atomics.load(ctl, Ctl.WORD);
      const i = w & IDX_MASK;
      if (i >= job.chunks) break;
      if (Atomics.compareExchange(ctl, Ctl.WORD, w, w + 1) !== w) continue;
      const begin = i * job.chunkRows;
      try {
        if (localError === null) local(begin, Math.min(job.rows, begin + job.chunkRows));
      } catch (e) {
        localError = e; // keep claiming (and skipping) so the job still completes
      }
      Atomics.add(ctl, Ctl.FINISHED, 1);
    }
    // Chunks other threads are still computing (at most one each): spin for a
    // while before sleeping, since waking a sleeping thread takes tens of µs
    // (more on an idle vCPU) and this call blocks its caller either way.
    let done = Atomics.load(ctl, Ctl.FINISHED);
    const until = performance.now() + SPIN_BEFORE_WAIT_MS;
    for (let k = 1; done < job.chunks; k++) {
      done = Atomics.load(ctl, Ctl.FINISHED);
      if ((k & 1023) === 0 && performance.now() > until) break;
    }
    while (done < job.chunks) {
      if (this.#block) Atomics.wait(ctl, Ctl.FINISHED, done);
      done = Atomics.load(ctl, Ctl.FINISHED);
    }
    if (localError !== null) throw localError;
    if (Atomics.load(ctl, Ctl.FAILED) !== 0) throw new Error('logitkit: a kernel call failed in a worker thread');
  }

  /** Ends the workers. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    Atomics.store(this.#ctl, Ctl.QUIT, 1);
    Atomics.notify(this.#ctl, Ctl.WORD);
    for (const w of this.#workers) w.terminate();
  }
}
