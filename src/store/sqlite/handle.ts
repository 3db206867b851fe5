/**
 * The one better-sqlite3 connection that a Store's parts share, and the closed state they all see.
 * Every public method of a SQLite store calls `db()` first, so a call after close() rejects with
 * StoreError 'Closed' instead of the driver's "The database connection is not open".
 */
import type { SqliteDatabase } from './migrations.js';
import { StoreError } from '../errors.js';

export class SqliteHandle {
  #db: SqliteDatabase | undefined;
  readonly path: string;

  constructor(db: SqliteDatabase, path: string) {
    this.#db = db;
    this.path = path;
  }

  get isClosed(): boolean {
    return this.#db === undefined;
  }

  /** The open connection; throws StoreError 'Closed' once the store was closed. */
  db(): SqliteDatabase {
    if (this.#db === undefined) {
      throw new StoreError('Closed', `the SQLite store (${this.path}) is closed`);
    }
    return this.#db;
  }

  /** Closes the connection (SQLite checkpoints the WAL into the database file); idempotent. */
  close(): void {
    const db = this.#db;
    if (db === undefined) return;
    this.#db = undefined;
    try {
      db.pragma('optimize');
    } catch {
      // Only a planner hint; closing matters more.
    }
    db.close();
  }
}
