/**
 * store/: persistence behind small interfaces, with SQLite (better-sqlite3 12, WAL) as the embedded
 * default. Speaks in plain records only (records.ts): it never imports mqtt/ or the AWS rooms.
 *
 * Offers: the record and store types; `openSqliteStore({ path, synchronous? })`, which returns a
 * ready Store synchronously (throws on an unusable or newer database); StoreError, whose `code` says
 * what went wrong ('Closed' after close(), 'ApplyFailed' for a rolled-back batch, …).
 * The contract suites every backend must pass are test support, in `store/contract/index.ts`.
 */
export type * from './records.js';
export type * from './interfaces.js';
export { StoreError, isStoreError, type StoreErrorCode } from './errors.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/open-sqlite-store.js';
