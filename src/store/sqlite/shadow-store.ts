/**
 * ShadowStore on SQLite: one row per shadow (live document or tombstone) and the history of its
 * accepted versions.
 *
 *   shadows          (thing_name, shadow_name) → version, document (NULL = tombstone), updated_at_ms
 *   shadow_history   (thing_name, shadow_name, version) → document, updated_at_ms
 *
 * The classic shadow is shadow_name ''. Listing named shadows is a range scan of the primary key
 * strictly after the cursor ('' by default, which is what leaves the classic shadow out).
 *
 * Ordinary rowid tables, not WITHOUT ROWID: a document may be tens of kilobytes, and SQLite's advice
 * is to keep WITHOUT ROWID for small rows.
 *
 * `write` is one IMMEDIATE transaction for the whole group. Each write first compares the current
 * row with its `expected` (the compare-and-set), and is skipped as 'conflict' when it does not match;
 * the others go on. A write that fails inside SQLite rolls the whole group back (ApplyFailed).
 */
import type { ShadowStore } from '../interfaces.js';
import type {
  NamedShadowQuery,
  ShadowHistoryQuery,
  ShadowHistoryRecord,
  ShadowRecord,
  ShadowWrite,
  ShadowWriteOutcome,
} from '../records.js';
import type { SqliteHandle } from './handle.js';
import { registerMigrations } from './migrations.js';
import { StoreError } from '../errors.js';

registerMigrations('shadow', [
  {
    version: 1,
    description: 'shadow documents, tombstones and history',
    up: `
      CREATE TABLE shadows (
        thing_name TEXT NOT NULL,
        shadow_name TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 0),
        document TEXT,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (thing_name, shadow_name)
      ) STRICT;
      CREATE INDEX shadows_tombstones ON shadows (updated_at_ms) WHERE document IS NULL;

      CREATE TABLE shadow_history (
        thing_name TEXT NOT NULL,
        shadow_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        document TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (thing_name, shadow_name, version)
      ) STRICT;
    `,
  },
]);

interface ShadowRow {
  readonly thing_name: string;
  readonly shadow_name: string;
  readonly version: number;
  readonly document: string | null;
  readonly updated_at_ms: number;
}

interface HistoryRow {
  readonly thing_name: string;
  readonly shadow_name: string;
  readonly version: number;
  readonly document: string;
  readonly updated_at_ms: number;
}

const COLUMNS = 'thing_name, shadow_name, version, document, updated_at_ms';

function shadowFromRow(row: ShadowRow): ShadowRecord {
  return {
    thingName: row.thing_name,
    shadowName: row.shadow_name,
    version: row.version,
    document: row.document,
    updatedAtMs: row.updated_at_ms,
  };
}

function historyFromRow(row: HistoryRow): ShadowHistoryRecord {
  return {
    thingName: row.thing_name,
    shadowName: row.shadow_name,
    version: row.version,
    document: row.document,
    updatedAtMs: row.updated_at_ms,
  };
}

function matches(row: ShadowRow | undefined, expected: ShadowWrite['expected']): boolean {
  if (expected === null) return row === undefined;
  return row !== undefined && row.version === expected.version && (row.document === null) === expected.deleted;
}

export class SqliteShadowStore implements ShadowStore {
  readonly #handle: SqliteHandle;
  readonly #writeBatch: (writes: readonly ShadowWrite[]) => ShadowWriteOutcome[];
  readonly #s;

  constructor(handle: SqliteHandle) {
    this.#handle = handle;
    const db = handle.db();
    this.#s = {
      get: db.prepare<[string, string], ShadowRow>(`SELECT ${COLUMNS} FROM shadows WHERE thing_name = ? AND shadow_name = ?`),
      upsert: db.prepare<[string, string, number, string | null, number]>(
        `INSERT INTO shadows (${COLUMNS}) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (thing_name, shadow_name) DO UPDATE SET
           version = excluded.version, document = excluded.document, updated_at_ms = excluded.updated_at_ms`,
      ),
      listNamed: db.prepare<[{ thing: string; after: string; limit: number }], string>(
        `SELECT shadow_name FROM shadows
         WHERE thing_name = @thing AND shadow_name > @after AND document IS NOT NULL
         ORDER BY shadow_name LIMIT @limit`,
      ).pluck(),
      listHistory: db.prepare<[{ thing: string; shadow: string; before: number | null; limit: number }], HistoryRow>(
        `SELECT ${COLUMNS} FROM shadow_history
         WHERE thing_name = @thing AND shadow_name = @shadow AND (@before IS NULL OR version < @before)
         ORDER BY version DESC LIMIT @limit`,
      ),
      insertHistory: db.prepare<[string, string, number, string, number]>(
        `INSERT INTO shadow_history (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`,
      ),
      dropHistoryFrom: db.prepare<[string, string, number]>(
        'DELETE FROM shadow_history WHERE thing_name = ? AND shadow_name = ? AND version >= ?',
      ),
      dropAllHistory: db.prepare<[string, string]>('DELETE FROM shadow_history WHERE thing_name = ? AND shadow_name = ?'),
      pruneHistory: db.prepare<[{ thing: string; shadow: string; upTo: number; notBefore: number }]>(
        `DELETE FROM shadow_history
         WHERE thing_name = @thing AND shadow_name = @shadow AND (version <= @upTo OR updated_at_ms < @notBefore)`,
      ),
      purge: db.prepare<[number]>('DELETE FROM shadows WHERE document IS NULL AND updated_at_ms < ?'),
    };

    this.#writeBatch = db.transaction((writes: readonly ShadowWrite[]): ShadowWriteOutcome[] => {
      const outcomes: ShadowWriteOutcome[] = [];
      for (let i = 0; i < writes.length; i++) {
        const w = writes[i] as ShadowWrite;
        try {
          outcomes.push(this.#writeOne(w));
        } catch (err: unknown) {
          throw new StoreError(
            'ApplyFailed',
            `shadow write ${i} of ${writes.length} (${JSON.stringify(w.shadow.thingName)}/${JSON.stringify(w.shadow.shadowName)} ` +
              `version ${w.shadow.version}) failed, batch rolled back: ${err instanceof Error ? err.message : String(err)}`,
            { cause: err, opIndex: i },
          );
        }
      }
      return outcomes;
    }).immediate;
  }

  #writeOne(w: ShadowWrite): ShadowWriteOutcome {
    const s = this.#s;
    const { thingName, shadowName, version, document, updatedAtMs } = w.shadow;
    if (!matches(s.get.get(thingName, shadowName), w.expected)) return 'conflict';
    s.upsert.run(thingName, shadowName, version, document, updatedAtMs);
    if (document === null) {
      s.dropAllHistory.run(thingName, shadowName);
      return 'written';
    }
    const history = w.history;
    if (history !== undefined && history.maxVersions > 0) {
      s.dropHistoryFrom.run(thingName, shadowName, version);
      s.insertHistory.run(thingName, shadowName, version, document, updatedAtMs);
      s.pruneHistory.run({
        thing: thingName,
        shadow: shadowName,
        upTo: version - history.maxVersions,
        notBefore: history.notBeforeMs ?? Number.MIN_SAFE_INTEGER,
      });
    }
    return 'written';
  }

  async getShadow(thingName: string, shadowName: string): Promise<ShadowRecord | undefined> {
    this.#handle.db();
    const row = this.#s.get.get(thingName, shadowName);
    return row === undefined ? undefined : shadowFromRow(row);
  }

  async listNamedShadows(thingName: string, query: NamedShadowQuery): Promise<string[]> {
    this.#handle.db();
    return this.#s.listNamed.all({ thing: thingName, after: query.afterShadowName ?? '', limit: query.limit });
  }

  async listShadowHistory(thingName: string, shadowName: string, query: ShadowHistoryQuery): Promise<ShadowHistoryRecord[]> {
    this.#handle.db();
    return this.#s.listHistory
      .all({ thing: thingName, shadow: shadowName, before: query.beforeVersion ?? null, limit: query.limit })
      .map(historyFromRow);
  }

  async write(writes: readonly ShadowWrite[]): Promise<ShadowWriteOutcome[]> {
    this.#handle.db();
    if (writes.length === 0) return [];
    return this.#writeBatch(writes);
  }

  async purgeTombstones(deletedBeforeMs: number): Promise<number> {
    this.#handle.db();
    return this.#s.purge.run(deletedBeforeMs).changes;
  }
}
