/**
 * A pool of worker threads that run local Lambda functions (lambda-worker.ts), one invocation per
 * worker at a time, so that a function that loops, crashes or exhausts its heap costs one thread
 * and no other invocation.
 *
 *   invoke() ──▶ queue (≤ maxQueue, else TooManyRequestsException) ──▶ idle worker (spawned lazily,
 *                at most `size`) ──▶ reply ──▶ worker idle again, next job
 *                                       └── timeout / uncaught error / exit / out of memory:
 *                                           the job fails, the worker is terminated and a fresh one
 *                                           is spawned for the next job
 *
 * Each worker has `resourceLimits.maxOldGenerationSizeMb = memoryMb` (Lambda's memory setting);
 * V8 stops a worker that needs more (ERR_WORKER_OUT_OF_MEMORY). Idle workers are unref'd, so an
 * idle pool never keeps the process alive; a worker with a job is ref'd until it answers.
 * Whatever a function writes to stdout/stderr goes to the logger with the function's name.
 *
 * Local functions are trusted code: a worker thread shares the process (file system, network,
 * environment), it is not a sandbox.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ActionDependencies } from './action.js';

/** main → worker: run one invocation. */
export interface WorkerRequest {
  readonly id: number;
  readonly modulePath: string;
  readonly functionName: string;
  readonly functionArn: string;
  readonly awsRequestId: string;
  /** The event as JSON text (empty: `{}`, as Lambda does for an empty payload). */
  readonly payload: string;
  readonly deadlineMs: number;
  readonly memoryMb: number;
}

/** worker → main: the result as JSON text, or the error in Lambda's words. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: string }
  | { readonly id: number; readonly ok: false; readonly errorType: string; readonly errorMessage: string; readonly stackTrace: readonly string[] };

/** A failed invocation, in the shape of Lambda's error payload (errorType, errorMessage). */
export class LambdaInvocationError extends Error {
  constructor(
    /** e.g. 'Error', 'TypeError', 'Sandbox.Timedout', 'Runtime.OutOfMemory', 'Runtime.ImportModuleError'. */
    readonly errorType: string,
    message: string,
    readonly stackTrace: readonly string[] = [],
  ) {
    super(message);
    this.name = 'LambdaInvocationError';
  }
}

export interface LocalInvocation {
  /** Absolute path of the module exporting `handler`. */
  readonly modulePath: string;
  readonly functionName: string;
  readonly functionArn: string;
  readonly payload: string;
  /** Overrides the pool's timeout (never longer). */
  readonly timeoutMs?: number;
}

export interface LambdaPoolOptions {
  /** Workers at most (default: the CPU count, between 2 and 4). */
  readonly size?: number;
  /** Per invocation, from the moment a worker takes it. */
  readonly timeoutMs: number;
  /** Each worker's old-generation heap bound. */
  readonly memoryMb: number;
  /** Invocations waiting for a worker at most (default 1000). */
  readonly maxQueue?: number;
  readonly logger: ActionDependencies['logger'];
}

interface Job {
  readonly inv: LocalInvocation;
  readonly id: number;
  readonly awsRequestId: string;
  readonly resolve: (json: string) => void;
  readonly reject: (err: LambdaInvocationError) => void;
  timer?: NodeJS.Timeout;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
  retired: boolean;
}

const WORKER_URL = new URL('./lambda-worker.js', import.meta.url);

export class LambdaPool {
  private readonly size: number;
  private readonly maxQueue: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers terminated after a timeout, crash or exit (each replaced on demand). */
  replaced = 0;

  constructor(private readonly options: LambdaPoolOptions) {
    this.size = Math.max(1, options.size ?? Math.min(4, Math.max(2, availableParallelism())));
    this.maxQueue = options.maxQueue ?? 1000;
  }

  /** Live workers and waiting invocations (for tests and metrics). */
  get stats(): { readonly workers: number; readonly busy: number; readonly queued: number; readonly replaced: number } {
    return { workers: this.slots.length, busy: this.slots.filter((s) => s.job !== undefined).length, queued: this.queue.length, replaced: this.replaced };
  }

  /** Runs the function; resolves with its result as JSON text, rejects with LambdaInvocationError. */
  invoke(inv: LocalInvocation): Promise<string> {
    if (this.closed) return Promise.reject(new LambdaInvocationError('ServiceException', 'The local Lambda pool is closed'));
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(new LambdaInvocationError('TooManyRequestsException', `Rate exceeded: ${this.queue.length} local invocations are waiting for a worker`));
    }
    return new Promise<string>((resolve, reject) => {
      this.queue.push({ inv, id: this.nextId++, awsRequestId: randomUUID(), resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new LambdaInvocationError('ServiceException', 'The local Lambda pool was closed'));
    const slots = this.slots.splice(0);
    for (const slot of slots) {
      slot.retired = true;
      if (slot.job !== undefined) this.settle(slot.job, new LambdaInvocationError('ServiceException', 'The local Lambda pool was closed'));
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const slot = this.slots.find((s) => s.job === undefined) ?? (this.slots.length < this.size ? this.spawn() : undefined);
      if (slot === undefined) return;
      const job = this.queue.shift() as Job;
      const timeoutMs = Math.min(job.inv.timeoutMs ?? this.options.timeoutMs, this.options.timeoutMs);
      slot.job = job;
      slot.worker.ref();
      job.timer = setTimeout(() => this.timedOut(slot, job, timeoutMs), timeoutMs);
      const request: WorkerRequest = {
        id: job.id,
        modulePath: job.inv.modulePath,
        functionName: job.inv.functionName,
        functionArn: job.inv.functionArn,
        awsRequestId: job.awsRequestId,
        payload: job.inv.payload,
        deadlineMs: Date.now() + timeoutMs,
        memoryMb: this.options.memoryMb,
      };
      slot.worker.postMessage(request);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: this.options.memoryMb },
      stdout: true,
      stderr: true,
      // not the server's flags (test runner, inspector): a function runs as in a plain node
      execArgv: [],
    });
    const slot: Slot = { worker, job: undefined, retired: false };
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.replied(slot, reply));
    worker.on('error', (err: Error & { code?: string }) => {
      const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.retire(
        slot,
        oom
          ? new LambdaInvocationError('Runtime.OutOfMemory', `Runtime exited: the function used more than its ${this.options.memoryMb} MB`)
          : new LambdaInvocationError('Runtime.ExitError', `Runtime exited with an uncaught error: ${err.name}: ${err.message}`),
      );
    });
    worker.on('exit', (code) => this.retire(slot, new LambdaInvocationError('Runtime.ExitError', `Runtime exited with code ${code}`)));
    for (const [stream, name] of [[worker.stdout, 'stdout'], [worker.stderr, 'stderr']] as const) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        const job = slot.job;
        this.options.logger.info(
          { functionName: job?.inv.functionName, awsRequestId: job?.awsRequestId, stream: name, text: text.replace(/\n$/, '') },
          'local lambda output',
        );
      });
    }
    this.slots.push(slot);
    return slot;
  }

  private replied(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    if (slot.retired || job === undefined || job.id !== reply.id) return;
    slot.job = undefined;
    slot.worker.unref();
    this.settle(job, reply.ok ? reply.result : new LambdaInvocationError(reply.errorType, reply.errorMessage, reply.stackTrace));
    this.dispatch();
  }

  private timedOut(slot: Slot, job: Job, timeoutMs: number): void {
    if (slot.job !== job) return;
    this.retire(slot, new LambdaInvocationError('Sandbox.Timedout', `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`));
  }

  /** Takes a worker out of the pool (terminating it) and fails its job; a new worker replaces it on demand. */
  private retire(slot: Slot, reason: LambdaInvocationError): void {
    if (slot.retired) return;
    slot.retired = true;
    this.replaced += 1;
    const i = this.slots.indexOf(slot);
    if (i !== -1) this.slots.splice(i, 1);
    const job = slot.job;
    slot.job = undefined;
    void slot.worker.terminate();
    if (job !== undefined) {
      this.options.logger.warn({ functionName: job.inv.functionName, awsRequestId: job.awsRequestId, errorType: reason.errorType, err: reason.message }, 'local lambda worker replaced');
      this.settle(job, reason);
    }
    this.dispatch();
  }

  private settle(job: Job, outcome: string | LambdaInvocationError): void {
    if (job.timer !== undefined) clearTimeout(job.timer);
    if (typeof outcome === 'string') job.resolve(outcome);
    else job.reject(outcome);
  }
}
