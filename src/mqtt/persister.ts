/**
 * Group commit of session and retained-message writes. Ops gathered during one turn of the event
 * loop are committed together in one `apply` per store; callbacks registered with `afterCommit`
 * run once the ops they depend on are durable. This is what lets a QoS 1 PUBACK mean "stored"
 * without one transaction per message.
 */
import type { RetainedOp, RetainedStore, SessionOp, SessionStore } from '../store/index.js';
import type { Logger } from './logger.js';

type Waiter = (ok: boolean) => void;

interface Batch {
  sessionOps: SessionOp[];
  retainedOps: RetainedOp[];
  waiters: Waiter[];
  /** Sessions whose pending ops are pulled into this batch when it is flushed. */
  sources: Set<{ takeOps(): SessionOp[] }>;
}

function newBatch(): Batch {
  return { sessionOps: [], retainedOps: [], waiters: [], sources: new Set() };
}

export class Persister {
  private current: Batch = newBatch();
  private inFlight: Promise<void> | null = null;
  private scheduled = false;

  constructor(
    private readonly sessions: SessionStore | undefined,
    private readonly retained: RetainedStore | undefined,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.sessions !== undefined;
  }

  /** A session with pending ops; they are taken at flush time (so ops of one turn go together). */
  touch(source: { takeOps(): SessionOp[] }): void {
    if (!this.sessions) return;
    this.current.sources.add(source);
    this.schedule();
  }

  addSessionOp(op: SessionOp): void {
    if (!this.sessions) return;
    this.current.sessionOps.push(op);
    this.schedule();
  }

  addRetainedOp(op: RetainedOp): void {
    if (!this.retained) return;
    this.current.retainedOps.push(op);
    this.schedule();
  }

  /** True when some write is not yet committed. */
  get pending(): boolean {
    return this.scheduled || this.inFlight !== null;
  }

  /** Runs `cb(true)` once everything added so far is committed (`cb(false)` if the commit failed). */
  afterCommit(cb: Waiter): void {
    if (this.scheduled) {
      this.current.waiters.push(cb);
    } else if (this.inFlight) {
      this.inFlight.then(
        () => cb(true),
        () => cb(false),
      );
    } else {
      cb(true);
    }
  }

  /** Commits everything now; resolves when durable. */
  async flush(): Promise<void> {
    while (this.scheduled || this.inFlight) {
      if (this.inFlight) await this.inFlight.catch(() => undefined);
      if (this.scheduled) await this.commit().catch(() => undefined);
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      if (this.inFlight) {
        // One commit at a time, in order: the next batch starts when the previous one is durable.
        this.inFlight.finally(() => void this.commit().catch(() => undefined));
      } else {
        void this.commit().catch(() => undefined);
      }
    });
  }

  private async commit(): Promise<void> {
    if (!this.scheduled) return;
    const batch = this.current;
    this.current = newBatch();
    this.scheduled = false;
    const sessionOps = batch.sessionOps;
    for (const s of batch.sources) {
      const ops = s.takeOps();
      for (const op of ops) sessionOps.push(op);
    }
    const run = (async () => {
      if (this.sessions && sessionOps.length > 0) await this.sessions.apply(sessionOps);
      if (this.retained && batch.retainedOps.length > 0) await this.retained.apply(batch.retainedOps);
    })();
    this.inFlight = run;
    let ok = true;
    try {
      await run;
    } catch (err: unknown) {
      ok = false;
      this.logger.error({ err }, 'store commit failed; the affected acknowledgements are withheld');
    } finally {
      if (this.inFlight === run) this.inFlight = null;
    }
    for (const w of batch.waiters) w(ok);
    if (!ok) throw new Error('commit failed');
  }
}
