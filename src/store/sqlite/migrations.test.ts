// Proves the per-room migration runner: it marks and checks the database, applies each room's pending migrations once and in order, rolls a failing one back whole, refuses newer or foreign databases, and rejects malformed lists.
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import Database from 'better-sqlite3';
import { isStoreError } from '../errors.js';
import { APPLICATION_ID, BOOKKEEPING_VERSION, migrate, registerMigrations, type Migration, type RoomMigrations } from './migrations.js';

const alpha: Migration[] = [
  { version: 1, description: 'alpha table', up: 'CREATE TABLE alpha (id INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT;' },
  { version: 2, description: 'alpha seed', up: (db) => void db.prepare("INSERT INTO alpha (name) VALUES ('seed')").run() },
];
const beta: Migration[] = [
  { version: 1, description: 'beta table referencing alpha', up: 'CREATE TABLE beta (alpha_id INTEGER NOT NULL REFERENCES alpha (id)) STRICT;' },
];

function versions(db: Database.Database): Record<string, number> {
  const rows = db.prepare('SELECT room, version FROM schema_version').all() as { room: string; version: number }[];
  return Object.fromEntries(rows.map((r) => [r.room, r.version]));
}

function tables(db: Database.Database): string[] {
  return db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[];
}

function withDb(body: (db: Database.Database) => void): void {
  const db = new Database(':memory:');
  try {
    body(db);
  } finally {
    db.close();
  }
}

describe('SQLite migrations', () => {
  it('a new database is marked as Thingcore and gets every room in order', () =>
    withDb((db) => {
      const applied = migrate(db, [{ room: 'alpha', migrations: alpha }, { room: 'beta', migrations: beta }]);
      assert.deepStrictEqual(applied.map((m) => `${m.room}@${m.version}`), ['alpha@1', 'alpha@2', 'beta@1']);
      assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
      assert.equal(db.pragma('user_version', { simple: true }), BOOKKEEPING_VERSION);
      assert.deepStrictEqual(versions(db), { alpha: 2, beta: 1 });
      assert.deepStrictEqual(db.prepare('SELECT name FROM alpha').pluck().all(), ['seed']);
    }));

  it('an up-to-date database is left alone; a longer list applies only the new migrations', () =>
    withDb((db) => {
      migrate(db, [{ room: 'alpha', migrations: alpha.slice(0, 1) }]);
      assert.deepStrictEqual(migrate(db, [{ room: 'alpha', migrations: alpha.slice(0, 1) }]), []);
      const applied = migrate(db, [{ room: 'alpha', migrations: alpha }, { room: 'beta', migrations: beta }]);
      assert.deepStrictEqual(applied.map((m) => `${m.room}@${m.version}`), ['alpha@2', 'beta@1']);
      assert.deepStrictEqual(db.prepare('SELECT name FROM alpha').pluck().all(), ['seed']);
    }));

  it('a failing migration is rolled back whole, earlier ones stay, and a fixed list then succeeds', () =>
    withDb((db) => {
      const broken: Migration = {
        version: 2,
        description: 'half-done change',
        up: 'CREATE TABLE half (x INTEGER); INSERT INTO alpha (name) VALUES (NULL);',
      };
      assert.throws(
        () => migrate(db, [{ room: 'alpha', migrations: [alpha[0]!, broken] }]),
        (err: unknown) => isStoreError(err, 'MigrationFailed') && /"alpha" 2 \(half-done change\)/.test(err.message),
      );
      assert.deepStrictEqual(versions(db), { alpha: 1 });
      assert.ok(!tables(db).includes('half'), 'the failed migration left a table behind');
      migrate(db, [{ room: 'alpha', migrations: alpha }]);
      assert.deepStrictEqual(versions(db), { alpha: 2 });
    }));

  it('a migration that leaves foreign key violations fails', () =>
    withDb((db) => {
      const orphan: Migration = { version: 2, description: 'orphan row', up: 'INSERT INTO beta (alpha_id) VALUES (42);' };
      migrate(db, [{ room: 'alpha', migrations: alpha }, { room: 'beta', migrations: beta }]);
      db.pragma('foreign_keys = ON');
      assert.throws(
        () => migrate(db, [{ room: 'alpha', migrations: alpha }, { room: 'beta', migrations: [beta[0]!, orphan] }]),
        (err: unknown) => isStoreError(err, 'MigrationFailed') && /foreign key/.test(err.message),
      );
      assert.equal(db.prepare('SELECT count(*) FROM beta').pluck().get(), 0);
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1, 'foreign_keys must be restored');
    }));

  it('a room at a version above the known list is refused before anything changes', () =>
    withDb((db) => {
      migrate(db, [{ room: 'alpha', migrations: alpha }]);
      assert.throws(
        () => migrate(db, [{ room: 'beta', migrations: beta }, { room: 'alpha', migrations: alpha.slice(0, 1) }]),
        (err: unknown) => isStoreError(err, 'SchemaTooNew') && /"alpha" schema is at version 2/.test(err.message),
      );
      assert.ok(!tables(db).includes('beta'), 'beta was migrated although the database was refused');
    }));

  it('newer bookkeeping and foreign databases are refused', () => {
    withDb((db) => {
      migrate(db, []);
      db.pragma(`user_version = ${BOOKKEEPING_VERSION + 1}`);
      assert.throws(() => migrate(db, []), (err: unknown) => isStoreError(err, 'SchemaTooNew'));
    });
    withDb((db) => {
      db.exec('CREATE TABLE theirs (x)');
      assert.throws(() => migrate(db, []), (err: unknown) => isStoreError(err, 'ForeignDatabase'));
    });
    withDb((db) => {
      db.pragma('application_id = 1234');
      assert.throws(() => migrate(db, []), (err: unknown) => isStoreError(err, 'ForeignDatabase'));
    });
  });

  it('malformed lists are rejected', () => {
    const bad: RoomMigrations[][] = [
      [{ room: 'gap', migrations: [alpha[0]!, { ...alpha[1]!, version: 3 }] }],
      [{ room: 'zero', migrations: [{ ...alpha[0]!, version: 0 }] }],
      [{ room: '', migrations: [] }],
      [{ room: 'twice', migrations: [] }, { room: 'twice', migrations: [] }],
    ];
    for (const rooms of bad) {
      withDb((db) => assert.throws(() => migrate(db, rooms), (err: unknown) => isStoreError(err, 'InvalidMigrations')));
    }
    // A room registers once (this file opens no store, so the extra room harms nothing).
    registerMigrations('migrations-test', []);
    assert.throws(() => registerMigrations('migrations-test', []), (err: unknown) => isStoreError(err, 'InvalidMigrations'));
    assert.throws(() => registerMigrations('migrations-test-2', [alpha[1]!]), (err: unknown) => isStoreError(err, 'InvalidMigrations'));
  });
});
