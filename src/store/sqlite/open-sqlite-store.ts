/**
 * Opens the embedded SQLite store (better-sqlite3): one connection shared by every part of the Store.
 *
 * Synchronous on purpose: opening is local file I/O plus migrations, and a failure throws right here
 * (StoreError ForeignDatabase / SchemaTooNew / MigrationFailed, or the driver's error for an unusable
 * path). The methods of the returned stores are async like every backend's, but do their work before
 * returning a settled promise, so calls take effect in the order they are made.
 *
 * Settings: WAL journal (readers never block the writer); synchronous=NORMAL by default, which in WAL
 * mode keeps every committed batch across a process crash and may lose the last batches on power loss
 * or an OS crash; 'full' syncs the WAL on every commit and keeps them across power loss too, at the
 * cost of one fsync per `apply`. Foreign keys on; busy_timeout so that another connection's short
 * write lock makes us wait rather than fail. ':memory:' gives a private database that vanishes on
 * close (no WAL there).
 *
 * Adding a part for another room (RegistryStore, ShadowStore …): write `src/store/sqlite/<x>-store.ts`
 * with its `registerMigrations('<room>', […])` and a class taking the SqliteHandle, import it below and
 * add its property to SqliteStore. See migrations.ts for the rules.
 */
import Database from 'better-sqlite3';
import type { Store } from '../interfaces.js';
import { SqliteHandle } from './handle.js';
import { migrate, registeredMigrations, type RoomMigrations, type SqliteDatabase } from './migrations.js';
import { SqliteSessionStore } from './session-store.js';
import { SqliteRetainedStore } from './retained-store.js';
import { SqliteRegistryStore } from './registry-store.js';
import { SqliteCertificateStore } from './certificate-store.js';
import { SqliteShadowStore } from './shadow-store.js';
import { SqlitePolicyStore } from './policy-store.js';
import { SqliteRuleStore } from './rule-store.js';
import { SqliteTagStore } from './tag-store.js';

export interface SqliteStoreOptions {
  /** Database file path (its directory must exist), or ':memory:'. */
  readonly path: string;
  /** 'normal' (default): durable across a process crash; 'full': across power loss too. */
  readonly synchronous?: 'normal' | 'full';
  /** How long to wait for another connection's lock before failing, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /** Migrations run after the registered rooms' ones (tests, extensions); each room name once. */
  readonly migrations?: readonly RoomMigrations[];
}

class SqliteStore implements Store {
  readonly #handle: SqliteHandle;
  readonly sessions: SqliteSessionStore;
  readonly retained: SqliteRetainedStore;
  readonly registry: SqliteRegistryStore;
  readonly certificates: SqliteCertificateStore;
  readonly shadows: SqliteShadowStore;
  readonly policies: SqlitePolicyStore;
  readonly rules: SqliteRuleStore;
  readonly tags: SqliteTagStore;

  constructor(handle: SqliteHandle) {
    this.#handle = handle;
    this.sessions = new SqliteSessionStore(handle);
    this.retained = new SqliteRetainedStore(handle);
    this.registry = new SqliteRegistryStore(handle);
    this.certificates = new SqliteCertificateStore(handle);
    this.shadows = new SqliteShadowStore(handle);
    this.policies = new SqlitePolicyStore(handle);
    this.rules = new SqliteRuleStore(handle);
    this.tags = new SqliteTagStore(handle);
  }

  async close(): Promise<void> {
    this.#handle.close();
  }
}

/** Opens (creating and migrating when needed) the SQLite database at `options.path`. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(new SqliteHandle(openSqliteDatabase(options), options.path));
}

/**
 * The configured, migrated connection under openSqliteStore (exported for this room's tests and its
 * future parts; other rooms use openSqliteStore).
 */
export function openSqliteDatabase(options: SqliteStoreOptions): SqliteDatabase {
  const { path, synchronous = 'normal', busyTimeoutMs = 5000, migrations = [] } = options;
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw new TypeError(`openSqliteStore: synchronous must be 'normal' or 'full', got ${JSON.stringify(synchronous)}`);
  }
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    // Migrations first: they refuse a file that is not ours before we change its journal mode.
    migrate(db, [...registeredMigrations(), ...migrations]);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err: unknown) {
    db.close();
    throw err;
  }
}
