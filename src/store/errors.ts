/**
 * The one error class the store room throws (or rejects with). Callers branch on `code`, never on the
 * message text; the underlying driver error, when there is one, is kept as `cause`.
 */

export type StoreErrorCode =
  /** The store was closed; every later call rejects with this. */
  | 'Closed'
  /** An op in an `apply` batch failed; the whole batch was rolled back. */
  | 'ApplyFailed'
  /** The database was written by a newer Thingcore (a room's schema version is above what this build knows). */
  | 'SchemaTooNew'
  /** A schema migration failed; it was rolled back and the store was not opened. */
  | 'MigrationFailed'
  /** A migration list is malformed (versions not 1, 2, 3… in order, or a room registered twice). */
  | 'InvalidMigrations'
  /** The file is an SQLite database that Thingcore did not create. */
  | 'ForeignDatabase'
  /** A check op of an `apply` batch did not hold (`opIndex` says which); the batch was rolled back. */
  | 'ConditionFailed'
  /** A stored value could not be decoded. */
  | 'CorruptRecord';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  /** For 'ConditionFailed' and 'ApplyFailed' from a store that reports it: the failed op's index in the batch. */
  readonly opIndex?: number;

  constructor(code: StoreErrorCode, message: string, options?: { readonly cause?: unknown; readonly opIndex?: number }) {
    super(message, options);
    this.code = code;
    if (options?.opIndex !== undefined) this.opIndex = options.opIndex;
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
