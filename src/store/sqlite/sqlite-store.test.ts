// Proves the SQLite store passes the store contract in memory and on disk (reopen included), and that its own promises hold: WAL and sync settings, one body per fanned-out message with no leaks, updateMessage never writing a body, the move of the rules' tags into the tags room, and refusal of foreign or newer databases.
import { after, describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SessionOp, Store } from '../index.js';
import { isStoreError, openSqliteStore } from '../index.js';
import { describeStore, describeStoreLifecycle, messageRecord, ruleRecord, sessionMessage, sessionRecord, type StoreContractFactory } from '../contract/index.js';
import { openSqliteDatabase } from './open-sqlite-store.js';
import { registeredMigrations } from './migrations.js';

const root = mkdtempSync(join(tmpdir(), 'thingcore-store-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
function freshPath(): string {
  const dir = join(root, `db-${++dirCount}`);
  return join(mkdtempSync(`${dir}-`), 'thingcore.db');
}

const memoryFactory: StoreContractFactory = {
  name: 'SQLite :memory:',
  create: async () => openSqliteStore({ path: ':memory:' }),
  destroy: (store) => store.close(),
};

function fileFactory(synchronous: 'normal' | 'full'): StoreContractFactory {
  const paths = new Map<Store, string>();
  return {
    name: `SQLite file, synchronous=${synchronous}`,
    async create() {
      const path = freshPath();
      const store = openSqliteStore({ path, synchronous });
      paths.set(store, path);
      return store;
    },
    async reopen(store) {
      const path = paths.get(store);
      if (path === undefined) throw new Error('reopen: unknown store');
      await store.close();
      paths.delete(store);
      const reopened = openSqliteStore({ path, synchronous });
      paths.set(reopened, path);
      return reopened;
    },
    async destroy(store) {
      await store.close();
      const path = paths.get(store);
      paths.delete(store);
      if (path !== undefined) rmSync(join(path, '..'), { recursive: true, force: true });
    },
  };
}

describeStore(memoryFactory);
describeStore(fileFactory('normal'));
describeStoreLifecycle(fileFactory('full'));

function inspect(path: string): Database.Database {
  return new Database(path, { readonly: true });
}

function count(path: string, table: string): number {
  const db = inspect(path);
  try {
    return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

describe('SQLite store specifics', () => {
  it('a file database uses WAL, synchronous NORMAL by default or FULL on request, and foreign keys', () => {
    const path = freshPath();
    const normal = openSqliteDatabase({ path });
    try {
      assert.equal(normal.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(normal.pragma('synchronous', { simple: true }), 1);
      assert.equal(normal.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(normal.pragma('busy_timeout', { simple: true }), 5000);
    } finally {
      normal.close();
    }
    const full = openSqliteDatabase({ path, synchronous: 'full', busyTimeoutMs: 100 });
    try {
      assert.equal(full.pragma('synchronous', { simple: true }), 2);
      assert.equal(full.pragma('busy_timeout', { simple: true }), 100);
    } finally {
      full.close();
    }
  });

  it('a message fanned out in one batch is written once, and its last reference going deletes it', async () => {
    const path = freshPath();
    const store = openSqliteStore({ path });
    try {
      const shared = messageRecord({ payload: Buffer.alloc(4096, 1) });
      const clients = Array.from({ length: 100 }, (_, i) => `c${i}`);
      await store.sessions.apply([
        ...clients.map((c): SessionOp => ({ op: 'putSession', session: sessionRecord(c) })),
        ...clients.map((c, i): SessionOp => ({ op: 'putMessage', message: sessionMessage(c, 1, i % 2 ? shared : { ...shared, qos: 2 }) })),
        { op: 'putMessage', message: sessionMessage('c0', 2) },
      ]);
      assert.equal(count(path, 'message_bodies'), 2);
      assert.equal(count(path, 'session_messages'), 101);

      // deleteMessage, deleteSession's cascade and a replacing putMessage each drop a reference.
      await store.sessions.apply([
        { op: 'deleteMessage', clientId: 'c0', seq: 2 },
        ...clients.slice(0, 50).map((clientId): SessionOp => ({ op: 'deleteSession', clientId })),
        ...clients.slice(50, 99).map((clientId): SessionOp => ({ op: 'deleteMessage', clientId, seq: 1 })),
      ]);
      assert.equal(count(path, 'message_bodies'), 1);
      await store.sessions.apply([{ op: 'putMessage', message: sessionMessage('c99', 1, messageRecord()) }]);
      assert.equal(count(path, 'message_bodies'), 1);
      await store.sessions.apply([{ op: 'deleteSession', clientId: 'c99' }]);
      assert.equal(count(path, 'message_bodies'), 0);
    } finally {
      await store.close();
    }
  });

  it('updateMessage writes only the small state row, never a message body', async () => {
    const path = freshPath();
    const store = openSqliteStore({ path });
    try {
      await store.sessions.apply([
        { op: 'putSession', session: sessionRecord('c1') },
        { op: 'putMessage', message: sessionMessage('c1', 1, messageRecord({ payload: Buffer.alloc(100_000, 7) })) },
      ]);
      // From here on, any write to message_bodies aborts.
      const guard = new Database(path);
      for (const event of ['INSERT', 'UPDATE', 'DELETE']) {
        guard.exec(`CREATE TRIGGER guard_${event.toLowerCase()} BEFORE ${event} ON message_bodies
                    BEGIN SELECT RAISE(ABORT, 'message body written'); END`);
      }
      guard.close();

      await store.sessions.apply([{ op: 'updateMessage', clientId: 'c1', seq: 1, state: 'sent', packetId: 1 }]);
      await store.sessions.apply([{ op: 'updateMessage', clientId: 'c1', seq: 1, state: 'released', packetId: 1 }]);
      const [stored] = (await store.sessions.load('c1'))?.messages ?? [];
      assert.equal(stored?.state, 'released');
      assert.ok(stored?.message.payload.equals(Buffer.alloc(100_000, 7)));
      // The guard is live: a putMessage (which writes a body) is refused.
      await assert.rejects(
        store.sessions.apply([{ op: 'putMessage', message: sessionMessage('c1', 2) }]),
        (err: unknown) => isStoreError(err, 'ApplyFailed') && /message body written/.test(err.message),
      );
    } finally {
      await store.close();
    }
  });

  it('an SQLite file of another application is refused and left as it was', () => {
    const path = freshPath();
    const other = new Database(path);
    other.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
    other.close();
    assert.throws(() => openSqliteStore({ path }), (err: unknown) => isStoreError(err, 'ForeignDatabase'));
    const db = inspect(path);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'delete');
      assert.deepStrictEqual(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all(), ['notes']);
    } finally {
      db.close();
    }
  });

  it('a database written by a newer Thingcore is refused', async () => {
    const path = freshPath();
    await openSqliteStore({ path }).close();
    const db = new Database(path);
    db.prepare("UPDATE schema_version SET version = 99 WHERE room = 'sessions'").run();
    db.close();
    assert.throws(() => openSqliteStore({ path }), (err: unknown) => isStoreError(err, 'SchemaTooNew') && /sessions/.test(err.message));
  });

  it('extra migrations run once, and a longer list later upgrades the database', async () => {
    const path = freshPath();
    const v1 = { version: 1, description: 'widgets', up: 'CREATE TABLE widgets (id TEXT PRIMARY KEY) STRICT;' };
    const v2 = { version: 2, description: 'widget colour', up: "ALTER TABLE widgets ADD COLUMN colour TEXT NOT NULL DEFAULT 'red';" };
    await openSqliteStore({ path, migrations: [{ room: 'widgets', migrations: [v1] }] }).close();
    await openSqliteStore({ path, migrations: [{ room: 'widgets', migrations: [v1] }] }).close();
    await openSqliteStore({ path, migrations: [{ room: 'widgets', migrations: [v1, v2] }] }).close();
    // A build that does not know the room opens the database and leaves the room alone.
    await openSqliteStore({ path }).close();
    const db = inspect(path);
    try {
      const versions = db.prepare('SELECT room, version FROM schema_version ORDER BY room').all();
      // Every registered room at its newest version (the list grows as rooms are added), plus widgets at 2.
      const expected = [
        ...registeredMigrations().map(({ room, migrations }) => ({ room, version: migrations.length })),
        { room: 'widgets', version: 2 },
      ].sort((a, b) => (a.room < b.room ? -1 : 1));
      assert.ok(expected.some((v) => v.room === 'sessions') && expected.some((v) => v.room === 'registry'));
      assert.deepStrictEqual(versions, expected);
      assert.deepStrictEqual(db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('widgets'), ['id', 'colour']);
    } finally {
      db.close();
    }
  });

  it("opening a database from before the tags room moves the rules' x-amz-tagging tags into it", async () => {
    const path = freshPath();
    const first = openSqliteStore({ path });
    await first.rules.apply(['r1', 'r2', 'r3'].map((n) => ({ op: 'putRule' as const, rule: ruleRecord(n) })));
    await first.close();
    // As the previous build left it: no tags room, the tags in rules.tags (junk included).
    const db = new Database(path);
    for (const trigger of db.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE '%_delete_tags'").pluck().all()) {
      db.exec(`DROP TRIGGER ${String(trigger)}`);
    }
    db.exec(`DROP TABLE tags; DELETE FROM schema_version WHERE room = 'tags';
             UPDATE rules SET tags = '[["team","ops"],["env","test"],["env","prod"],["k",""]]' WHERE rule_name = 'r1';
             UPDATE rules SET tags = 'not json' WHERE rule_name = 'r2';
             UPDATE rules SET tags = '[["only-key"],[1,"x"],"k=v",["ok","1"]]' WHERE rule_name = 'r3';`);
    db.close();
    const store = openSqliteStore({ path });
    try {
      const tags = (ruleName: string) => store.tags.listTags({ resourceType: 'rule', resourceId: ruleName }, { limit: 100 });
      assert.deepStrictEqual(await tags('r1'), [{ key: 'env', value: 'prod' }, { key: 'k', value: '' }, { key: 'team', value: 'ops' }]);
      assert.deepStrictEqual(await tags('r2'), []);
      assert.deepStrictEqual(await tags('r3'), [{ key: 'ok', value: '1' }]);
      await store.rules.apply([{ op: 'deleteRule', ruleName: 'r1' }]);
      assert.deepStrictEqual(await tags('r1'), []);
    } finally {
      await store.close();
    }
  });

  it('a corrupt stored value makes loads reject with StoreError CorruptRecord', async () => {
    const path = freshPath();
    const store = openSqliteStore({ path });
    try {
      await store.sessions.apply([
        { op: 'putSession', session: sessionRecord('c1') },
        { op: 'putMessage', message: sessionMessage('c1', 1, messageRecord({ properties: { contentType: 'x' } })) },
      ]);
      const db = new Database(path);
      db.exec("UPDATE message_bodies SET properties = x'0104ff'");
      db.close();
      await assert.rejects(store.sessions.loadAll(), (err: unknown) => isStoreError(err, 'CorruptRecord'));
      await assert.rejects(store.sessions.load('c1'), (err: unknown) => isStoreError(err, 'CorruptRecord'));
    } finally {
      await store.close();
    }
  });

  it('bad options and unusable paths throw at open', () => {
    assert.throws(() => openSqliteStore({ path: ':memory:', synchronous: 'off' as never }), TypeError);
    assert.throws(() => openSqliteStore({ path: join(root, 'no-such-dir', 'x', 'thingcore.db') }));
    const garbage = freshPath();
    writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
    assert.throws(() => openSqliteStore({ path: garbage }), /not a database/);
    assert.throws(
      () => openSqliteStore({ path: ':memory:', migrations: [{ room: 'sessions', migrations: [] }] }),
      (err: unknown) => isStoreError(err, 'InvalidMigrations'),
    );
  });
});
