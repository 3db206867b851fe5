/**
 * Group commit of shadow writes. The writes submitted during one turn of the event loop go to the
 * store together, in one `ShadowStore.write` (one transaction), and each submitter gets its own
 * outcome once that transaction is durable. One commit runs at a time: writes arriving meanwhile
 * wait and form the next group. Like mqtt/persister.ts, this is what lets "accepted" mean
 * "stored" without one transaction per update.
 *
 *   turn n:   submit(a) submit(b) submit(c)  ─┐
 *   setImmediate:                             └─ store.write([a, b, c]) ── resolves a, b, c
 *   meanwhile: submit(d) submit(e)            ─── wait ─┘ then store.write([d, e])
 */
import type { ShadowStore, ShadowWrite, ShadowWriteOutcome } from '../store/index.js';

interface Pending {
  readonly write: ShadowWrite;
  readonly resolve: (outcome: ShadowWriteOutcome) => void;
  readonly reject: (err: unknown) => void;
}

export class GroupCommit {
  readonly #store: ShadowStore;
  #pending: Pending[] = [];
  #scheduled = false;
  #inFlight: Promise<void> | null = null;
  /** Number of store.write calls so far (for tests and metrics). */
  commits = 0;

  constructor(store: ShadowStore) {
    this.#store = store;
  }

  /** Resolves with the write's outcome once the group it joined is committed; rejects if that failed. */
  submit(write: ShadowWrite): Promise<ShadowWriteOutcome> {
    return new Promise<ShadowWriteOutcome>((resolve, reject) => {
      this.#pending.push({ write, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves once every write submitted so far has been committed (or has failed). */
  async drain(): Promise<void> {
    while (this.#scheduled || this.#inFlight !== null) {
      if (this.#inFlight !== null) await this.#inFlight;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    while (this.#inFlight !== null) await this.#inFlight;
    this.#scheduled = false;
    const group = this.#pending;
    this.#pending = [];
    if (group.length === 0) return;
    const run = this.#commit(group);
    this.#inFlight = run;
    try {
      await run;
    } finally {
      if (this.#inFlight === run) this.#inFlight = null;
      if (this.#pending.length > 0) this.#schedule();
    }
  }

  /** Never rejects: a failure is handed to each submitter. */
  async #commit(group: readonly Pending[]): Promise<void> {
    this.commits++;
    let outcomes: ShadowWriteOutcome[];
    try {
      outcomes = await this.#store.write(group.map((p) => p.write));
    } catch (err: unknown) {
      for (const p of group) p.reject(err);
      return;
    }
    group.forEach((p, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) p.reject(new Error(`the shadow store returned ${outcomes.length} outcomes for ${group.length} writes`));
      else p.resolve(outcome);
    });
  }
}
