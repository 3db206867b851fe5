/**
 * The store interfaces. Every backend (SQLite now, PostgreSQL later) implements them and passes the
 * contract suites in `store/contract/`. Methods are async so that a networked backend fits; the
 * SQLite backend completes them synchronously inside and returns settled promises.
 *
 * Writes come in batches: `apply(ops)` commits all of its ops in one transaction, in order, or none
 * of them (it rejects). Callers acknowledge to clients only after `apply` resolved.
 */
import type { RetainedOp, SessionOp, StoredSession, MessageRecord } from './records.js';

export interface SessionStore {
  /** Every stored persistent session, with its subscriptions and owed messages (seq ascending). */
  loadAll(): Promise<StoredSession[]>;
  load(clientId: string): Promise<StoredSession | undefined>;
  apply(ops: readonly SessionOp[]): Promise<void>;
}

export interface RetainedStore {
  loadAll(): Promise<MessageRecord[]>;
  get(topic: string): Promise<MessageRecord | undefined>;
  apply(ops: readonly RetainedOp[]): Promise<void>;
  count(): Promise<number>;
}

/** An opened database: the individual stores plus lifecycle. */
export interface Store {
  readonly sessions: SessionStore;
  readonly retained: RetainedStore;
  /** Flushes and closes; idempotent. */
  close(): Promise<void>;
}
