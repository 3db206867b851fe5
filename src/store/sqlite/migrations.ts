/**
 * Schema migrations for the SQLite database, versioned per room.
 *
 * Each part of the store ("room": 'sessions', 'retained', later 'registry', 'identity', 'policy',
 * 'shadow', 'rules' …) owns its tables and an ordered list of migrations numbered 1, 2, 3… of its own.
 * The file that implements a room's store registers the list next to the code that uses the tables:
 *
 *   // src/store/sqlite/registry-store.ts
 *   registerMigrations('registry', [
 *     { version: 1, description: 'things and thing types', up: `CREATE TABLE things (…) STRICT;` },
 *   ]);
 *
 * and `open-sqlite-store.ts` imports that file (it has to anyway, to build the store), which runs the
 * registration before any database is opened.
 *
 * Why not one global list under PRAGMA user_version: two issues worked on at the same time would both
 * add "migration 3" — a merge conflict at best, and at worst two databases in the field whose version
 * 3 means different things. Per-room numbering makes rooms independent: adding a room is a new file
 * plus an import, and a room's versions only ever grow at the end of its own list.
 *
 * Bookkeeping, inside the database:
 *   PRAGMA application_id  0x54434f52 ('TCOR'): this file is a Thingcore database (anything else is
 *                          refused rather than written into);
 *   PRAGMA user_version    1: the layout of the bookkeeping itself (the table below);
 *   schema_version         one row per room: (room, version, applied_at_ms).
 *
 * Rules for a migration:
 * - never edit or renumber one that has shipped; add a new one at the end of its room's list;
 * - `up` is SQL (run with db.exec) or a function for data migrations; it must not BEGIN/COMMIT: the
 *   runner wraps each migration and its version bump in one IMMEDIATE transaction;
 * - foreign keys are OFF while migrations run, so a table can be rebuilt the way SQLite's ALTER TABLE
 *   documentation describes; `PRAGMA foreign_key_check` must come back empty before each commit;
 * - a room's migrations touch its own tables, or those of rooms registered earlier (import that
 *   room's file first); rooms are migrated in registration order, then `openSqliteStore`'s extras.
 *
 * A database whose room is at a version above the list this build knows is refused (SchemaTooNew):
 * an older Thingcore must not write into a newer schema. Rooms the database has but this build does
 * not register are left alone.
 */
import type Database from 'better-sqlite3';
import { StoreError } from '../errors.js';

export type SqliteDatabase = Database.Database;

export interface Migration {
  /** 1 for a room's first migration, then 2, 3 … with no gaps. */
  readonly version: number;
  /** What it does, in a few words (shown in errors). */
  readonly description: string;
  /** SQL for db.exec, or a function that changes the database; no BEGIN/COMMIT inside. */
  readonly up: string | ((db: SqliteDatabase) => void);
}

export interface RoomMigrations {
  readonly room: string;
  readonly migrations: readonly Migration[];
}

export interface AppliedMigration {
  readonly room: string;
  readonly version: number;
  readonly description: string;
}

/** PRAGMA application_id of a Thingcore database: 'TCOR'. */
export const APPLICATION_ID = 0x54434f52;
/** PRAGMA user_version: the layout of the migration bookkeeping (schema_version table). */
export const BOOKKEEPING_VERSION = 1;

const registered: RoomMigrations[] = [];

/**
 * Adds a room's migrations to the list every `openSqliteStore` runs. Call it once per room, at the top
 * level of the file that implements the room's store.
 */
export function registerMigrations(room: string, migrations: readonly Migration[]): void {
  const entry: RoomMigrations = { room, migrations: [...migrations] };
  validateRooms([...registered, entry]);
  registered.push(entry);
}

/** The registered rooms, in registration order. */
export function registeredMigrations(): readonly RoomMigrations[] {
  return [...registered];
}

function validateRooms(rooms: readonly RoomMigrations[]): void {
  const seen = new Set<string>();
  for (const { room, migrations } of rooms) {
    if (room.length === 0) throw new StoreError('InvalidMigrations', 'a migration room needs a name');
    if (seen.has(room)) throw new StoreError('InvalidMigrations', `migration room "${room}" is registered twice`);
    seen.add(room);
    migrations.forEach((m, i) => {
      if (m.version !== i + 1) {
        throw new StoreError(
          'InvalidMigrations',
          `migration room "${room}": entry ${i} has version ${m.version}, expected ${i + 1} (versions are 1, 2, 3… in order)`,
        );
      }
    });
  }
}

/**
 * Brings the database up to every given room's newest version and returns what it applied (nothing
 * when it was up to date). Throws StoreError ForeignDatabase, SchemaTooNew, InvalidMigrations or
 * MigrationFailed; a failed migration is rolled back, earlier ones stay committed.
 */
export function migrate(db: SqliteDatabase, rooms: readonly RoomMigrations[]): AppliedMigration[] {
  validateRooms(rooms);
  initBookkeeping(db);

  const readVersion = db.prepare<[string], number>('SELECT version FROM schema_version WHERE room = ?').pluck();
  const writeVersion = db.prepare<[string, number, number]>(
    `INSERT INTO schema_version (room, version, applied_at_ms) VALUES (?, ?, ?)
     ON CONFLICT (room) DO UPDATE SET version = excluded.version, applied_at_ms = excluded.applied_at_ms`,
  );

  // Refuse a too-new database before changing anything.
  for (const { room, migrations } of rooms) {
    const current = readVersion.get(room) ?? 0;
    if (current > migrations.length) {
      throw new StoreError(
        'SchemaTooNew',
        `the database's "${room}" schema is at version ${current}, but this Thingcore knows versions up to ` +
          `${migrations.length}: it was written by a newer Thingcore`,
      );
    }
  }

  const pending = rooms.some(({ room, migrations }) => (readVersion.get(room) ?? 0) < migrations.length);
  if (!pending) return [];

  const applied: AppliedMigration[] = [];
  let running = '';
  const foreignKeysWereOn = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    for (const { room, migrations } of rooms) {
      for (const migration of migrations) {
        running = `"${room}" ${migration.version} (${migration.description})`;
        const ran = db
          .transaction(() => {
            if ((readVersion.get(room) ?? 0) >= migration.version) return false; // another process was first
            if (typeof migration.up === 'string') db.exec(migration.up);
            else migration.up(db);
            const violations = db.pragma('foreign_key_check') as unknown[];
            if (violations.length > 0) {
              throw new Error(`leaves ${violations.length} foreign key violation(s), e.g. ${JSON.stringify(violations[0])}`);
            }
            writeVersion.run(room, migration.version, Date.now());
            return true;
          })
          .immediate();
        if (ran) applied.push({ room, version: migration.version, description: migration.description });
      }
    }
  } catch (err: unknown) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(
      'MigrationFailed',
      `schema migration ${running} failed and was rolled back: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  } finally {
    if (foreignKeysWereOn) db.pragma('foreign_keys = ON');
  }
  return applied;
}

/** Marks a new database as Thingcore's, or checks that an existing one is. */
function initBookkeeping(db: SqliteDatabase): void {
  db.transaction(() => {
    const applicationId = db.pragma('application_id', { simple: true });
    const userVersion = db.pragma('user_version', { simple: true });
    if (applicationId === 0 && userVersion === 0) {
      const objects = db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number;
      if (objects > 0) {
        throw new StoreError('ForeignDatabase', 'the file is an SQLite database that Thingcore did not create');
      }
      db.exec(`CREATE TABLE schema_version (
        room TEXT NOT NULL PRIMARY KEY,
        version INTEGER NOT NULL,
        applied_at_ms INTEGER NOT NULL
      ) STRICT`);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${BOOKKEEPING_VERSION}`);
      return;
    }
    if (applicationId !== APPLICATION_ID) {
      throw new StoreError(
        'ForeignDatabase',
        `the file is an SQLite database of another application (application_id ${String(applicationId)})`,
      );
    }
    if (typeof userVersion !== 'number' || userVersion > BOOKKEEPING_VERSION) {
      throw new StoreError(
        'SchemaTooNew',
        `the database's migration bookkeeping is at layout ${String(userVersion)}; this Thingcore knows ` +
          `${BOOKKEEPING_VERSION}: it was written by a newer Thingcore`,
      );
    }
  }).immediate();
}
