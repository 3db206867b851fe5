/**
 * RetainedStore on SQLite: one row per topic name holding the last retained message. loadAll
 * returns them ordered by topic.
 */
import type { RetainedStore } from '../interfaces.js';
import type { MessageRecord, RetainedOp } from '../records.js';
import type { SqliteHandle } from './handle.js';
import { registerMigrations } from './migrations.js';
import { messageFromColumns, propertiesToColumn, type MessageColumns } from './message-row.js';
import { StoreError } from '../errors.js';

registerMigrations('retained', [
  {
    version: 1,
    description: 'retained messages',
    up: `
      CREATE TABLE retained_messages (
        topic TEXT NOT NULL PRIMARY KEY,
        qos INTEGER NOT NULL CHECK (qos IN (0, 1, 2)),
        retain INTEGER NOT NULL CHECK (retain IN (0, 1)),
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER,
        properties BLOB,
        payload BLOB NOT NULL
      ) STRICT;
    `,
  },
]);

interface RetainedRow extends MessageColumns {
  readonly qos: number;
  readonly retain: number;
}

const COLUMNS = 'topic, qos, retain, created_at_ms, expires_at_ms, properties, payload';

function describeOp(op: RetainedOp): string {
  switch (op.op) {
    case 'put':
      return `put topic=${JSON.stringify(op.message.topic)}`;
    case 'delete':
      return `delete topic=${JSON.stringify(op.topic)}`;
    default:
      return `unknown op ${JSON.stringify((op as { op?: unknown }).op)}`;
  }
}

export class SqliteRetainedStore implements RetainedStore {
  readonly #handle: SqliteHandle;
  readonly #applyBatch: (ops: readonly RetainedOp[]) => void;
  readonly #put;
  readonly #delete;
  readonly #selectOne;
  readonly #selectAll;
  readonly #count;

  constructor(handle: SqliteHandle) {
    this.#handle = handle;
    const db = handle.db();
    // Not INSERT OR REPLACE: REPLACE deletes and re-inserts, which a table with dependents would notice.
    this.#put = db.prepare<[string, number, number, number, number | null, Buffer | null, Buffer]>(
      `INSERT INTO retained_messages (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (topic) DO UPDATE SET
         qos = excluded.qos,
         retain = excluded.retain,
         created_at_ms = excluded.created_at_ms,
         expires_at_ms = excluded.expires_at_ms,
         properties = excluded.properties,
         payload = excluded.payload`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM retained_messages WHERE topic = ?');
    this.#selectOne = db.prepare<[string], RetainedRow>(`SELECT ${COLUMNS} FROM retained_messages WHERE topic = ?`);
    this.#selectAll = db.prepare<[], RetainedRow>(`SELECT ${COLUMNS} FROM retained_messages ORDER BY topic`);
    this.#count = db.prepare<[], number>('SELECT count(*) FROM retained_messages').pluck();

    this.#applyBatch = db.transaction((ops: readonly RetainedOp[]) => {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i] as RetainedOp;
        try {
          this.#applyOne(op);
        } catch (err: unknown) {
          throw new StoreError(
            'ApplyFailed',
            `apply: op ${i} of ${ops.length} (${describeOp(op)}) failed, batch rolled back: ` +
              `${err instanceof Error ? err.message : String(err)}`,
            { cause: err },
          );
        }
      }
    }).immediate;
  }

  #applyOne(op: RetainedOp): void {
    switch (op.op) {
      case 'put': {
        const m = op.message;
        this.#put.run(
          m.topic,
          m.qos,
          m.retain ? 1 : 0,
          m.createdAtMs,
          m.expiresAtMs ?? null,
          propertiesToColumn(m.properties),
          m.payload,
        );
        return;
      }
      case 'delete':
        this.#delete.run(op.topic);
        return;
      default:
        throw new TypeError(`unknown retained op ${JSON.stringify((op as { op?: unknown }).op)}`);
    }
  }

  async apply(ops: readonly RetainedOp[]): Promise<void> {
    this.#handle.db();
    if (ops.length === 0) return;
    this.#applyBatch(ops);
  }

  async get(topic: string): Promise<MessageRecord | undefined> {
    this.#handle.db();
    const row = this.#selectOne.get(topic);
    return row === undefined ? undefined : messageFromColumns(row, row.qos, row.retain);
  }

  async loadAll(): Promise<MessageRecord[]> {
    this.#handle.db();
    return this.#selectAll.all().map((row) => messageFromColumns(row, row.qos, row.retain));
  }

  async count(): Promise<number> {
    this.#handle.db();
    return this.#count.get() ?? 0;
  }
}
