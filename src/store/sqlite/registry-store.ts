/**
 * RegistryStore on SQLite: things, thing types and thing–principal attachments.
 *
 *   thing_types ──< things ─┬─< thing_attributes   (thing_name, name): value   — filter index only
 *                            └─< thing_principals   seq: (thing_name, principal) unique, type, attached_at_ms
 *
 * A thing's attributes are kept twice: as a JSON object in `things.attributes` (what reads return, in
 * the caller's order) and as rows of `thing_attributes` indexed by (name, value), which is what the
 * ListThings attribute filter searches. putThing rewrites both in the same transaction.
 *
 * putThing is an upsert (INSERT … ON CONFLICT DO UPDATE), never INSERT OR REPLACE: REPLACE deletes the
 * row first, and the ON DELETE CASCADE would silently drop the thing's attachments.
 *
 * Integrity through foreign keys: a thing's type must exist (so deleting a type that a thing still
 * has fails the batch), an attachment's thing must exist, deleting a thing cascades to its attributes
 * and attachments.
 *
 * Orders: things and types by name (binary collation, so 'B' < 'a'); attachments by seq, which
 * AUTOINCREMENT keeps increasing and never reuses. Every listing continues strictly after a cursor
 * taken from the previous page's last item, so pages never overlap and never skip.
 */
import type { RegistryStore } from '../interfaces.js';
import type {
  AttachmentQuery,
  RegistryOp,
  ThingPrincipalRecord,
  ThingPrincipalType,
  ThingQuery,
  ThingRecord,
  ThingTypePropertiesRecord,
  ThingTypeQuery,
  ThingTypeRecord,
} from '../records.js';
import type Database from 'better-sqlite3';
import type { SqliteHandle } from './handle.js';
import { registerMigrations, type SqliteDatabase } from './migrations.js';
import { batchTransaction, ConditionNotMet } from './batch.js';
import { StoreError } from '../errors.js';

registerMigrations('registry', [
  {
    version: 1,
    description: 'things, thing types, attribute index, thing-principal attachments',
    up: `
      CREATE TABLE thing_types (
        thing_type_name TEXT NOT NULL PRIMARY KEY,
        thing_type_id TEXT NOT NULL UNIQUE,
        properties TEXT NOT NULL,
        deprecated INTEGER NOT NULL CHECK (deprecated IN (0, 1)),
        deprecation_date_ms INTEGER,
        creation_date_ms INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE things (
        thing_name TEXT NOT NULL PRIMARY KEY,
        thing_id TEXT NOT NULL UNIQUE,
        thing_type_name TEXT REFERENCES thing_types (thing_type_name),
        attributes TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        billing_group_name TEXT,
        creation_date_ms INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX things_by_type ON things (thing_type_name, thing_name);

      CREATE TABLE thing_attributes (
        thing_name TEXT NOT NULL REFERENCES things (thing_name) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (thing_name, name)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX thing_attributes_by_value ON thing_attributes (name, value, thing_name);

      CREATE TABLE thing_principals (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        thing_name TEXT NOT NULL REFERENCES things (thing_name) ON DELETE CASCADE,
        principal TEXT NOT NULL,
        thing_principal_type TEXT NOT NULL CHECK (thing_principal_type IN ('EXCLUSIVE_THING', 'NON_EXCLUSIVE_THING')),
        attached_at_ms INTEGER NOT NULL,
        UNIQUE (thing_name, principal)
      ) STRICT;
      CREATE INDEX thing_principals_by_principal ON thing_principals (principal, seq);
    `,
  },
]);

interface ThingRow {
  readonly thing_name: string;
  readonly thing_id: string;
  readonly thing_type_name: string | null;
  readonly attributes: string;
  readonly version: number;
  readonly billing_group_name: string | null;
  readonly creation_date_ms: number;
}

interface ThingTypeRow {
  readonly thing_type_name: string;
  readonly thing_type_id: string;
  readonly properties: string;
  readonly deprecated: number;
  readonly deprecation_date_ms: number | null;
  readonly creation_date_ms: number;
}

interface AttachmentRow {
  readonly seq: number;
  readonly thing_name: string;
  readonly principal: string;
  readonly thing_principal_type: string;
  readonly attached_at_ms: number;
}

const THING_COLUMNS = 'thing_name, thing_id, thing_type_name, attributes, version, billing_group_name, creation_date_ms';
const TYPE_COLUMNS = 'thing_type_name, thing_type_id, properties, deprecated, deprecation_date_ms, creation_date_ms';
const ATTACHMENT_COLUMNS = 'seq, thing_name, principal, thing_principal_type, attached_at_ms';

function corrupt(what: string, err: unknown): StoreError {
  return new StoreError('CorruptRecord', `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err: unknown) {
    throw corrupt(what, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw corrupt(what, new Error('not a JSON object'));
  }
  return value as Record<string, unknown>;
}

function thingFromRow(row: ThingRow): ThingRecord {
  const raw = parseJsonObject(row.attributes, `thing ${JSON.stringify(row.thing_name)} attributes`);
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw corrupt(`thing ${JSON.stringify(row.thing_name)} attribute ${name}`, new Error('not a string'));
    // defineProperty rather than assignment: an attribute may be called "__proto__".
    Object.defineProperty(attributes, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return {
    thingName: row.thing_name,
    thingId: row.thing_id,
    ...(row.thing_type_name === null ? {} : { thingTypeName: row.thing_type_name }),
    attributes,
    version: row.version,
    ...(row.billing_group_name === null ? {} : { billingGroupName: row.billing_group_name }),
    creationDateMs: row.creation_date_ms,
  };
}

function thingTypeFromRow(row: ThingTypeRow): ThingTypeRecord {
  const raw = parseJsonObject(row.properties, `thing type ${JSON.stringify(row.thing_type_name)} properties`);
  const properties: { -readonly [K in keyof ThingTypePropertiesRecord]: ThingTypePropertiesRecord[K] } = {};
  if (typeof raw['thingTypeDescription'] === 'string') properties.thingTypeDescription = raw['thingTypeDescription'];
  const searchable = raw['searchableAttributes'];
  if (Array.isArray(searchable) && searchable.every((s): s is string => typeof s === 'string')) {
    properties.searchableAttributes = searchable;
  }
  if (raw['mqtt5Configuration'] !== undefined) properties.mqtt5Configuration = raw['mqtt5Configuration'];
  return {
    thingTypeName: row.thing_type_name,
    thingTypeId: row.thing_type_id,
    thingTypeProperties: properties,
    deprecated: row.deprecated === 1,
    ...(row.deprecation_date_ms === null ? {} : { deprecationDateMs: row.deprecation_date_ms }),
    creationDateMs: row.creation_date_ms,
  };
}

function attachmentFromRow(row: AttachmentRow): ThingPrincipalRecord {
  if (row.thing_principal_type !== 'EXCLUSIVE_THING' && row.thing_principal_type !== 'NON_EXCLUSIVE_THING') {
    throw corrupt(`attachment ${row.seq}`, new Error(`unknown thingPrincipalType ${row.thing_principal_type}`));
  }
  return {
    thingName: row.thing_name,
    principal: row.principal,
    thingPrincipalType: row.thing_principal_type,
    attachedAtMs: row.attached_at_ms,
    seq: row.seq,
  };
}

function describeOp(op: RegistryOp): string {
  switch (op.op) {
    case 'putThing':
      return `putThing ${JSON.stringify(op.thing.thingName)}`;
    case 'putThingType':
      return `putThingType ${JSON.stringify(op.thingType.thingTypeName)}`;
    case 'deleteThing':
    case 'checkThing':
    case 'checkThingHasNoPrincipals':
      return `${op.op} ${JSON.stringify(op.thingName)}`;
    case 'deleteThingType':
    case 'checkThingType':
    case 'checkThingTypeUnused':
      return `${op.op} ${JSON.stringify(op.thingTypeName)}`;
    case 'attachPrincipal':
    case 'detachPrincipal':
      return `${op.op} ${JSON.stringify(op.thingName)} ${JSON.stringify(op.principal)}`;
    case 'checkPrincipalNotAttachedElsewhere':
      return `${op.op} ${JSON.stringify(op.principal)} (except ${JSON.stringify(op.thingName)})`;
    default:
      return `unknown op ${JSON.stringify((op as { op?: unknown }).op)}`;
  }
}

/** Thrown inside the transaction by a check op that does not hold. */

export class SqliteRegistryStore implements RegistryStore {
  readonly #handle: SqliteHandle;
  readonly #db: SqliteDatabase;
  readonly #applyBatch: (ops: readonly RegistryOp[]) => void;
  /** listThings statements by filter shape (at most 2 × 4 × 2 of them). */
  readonly #thingQueries = new Map<string, Database.Statement<unknown[], ThingRow>>();
  readonly #s;

  constructor(handle: SqliteHandle) {
    this.#handle = handle;
    const db = handle.db();
    this.#db = db;
    this.#s = {
      getThing: db.prepare<[string], ThingRow>(`SELECT ${THING_COLUMNS} FROM things WHERE thing_name = ?`),
      upsertThing: db.prepare<[string, string, string | null, string, number, string | null, number]>(
        `INSERT INTO things (${THING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (thing_name) DO UPDATE SET
           thing_id = excluded.thing_id,
           thing_type_name = excluded.thing_type_name,
           attributes = excluded.attributes,
           version = excluded.version,
           billing_group_name = excluded.billing_group_name,
           creation_date_ms = excluded.creation_date_ms`,
      ),
      deleteThing: db.prepare<[string]>('DELETE FROM things WHERE thing_name = ?'),
      deleteAttributes: db.prepare<[string]>('DELETE FROM thing_attributes WHERE thing_name = ?'),
      insertAttribute: db.prepare<[string, string, string]>('INSERT INTO thing_attributes (thing_name, name, value) VALUES (?, ?, ?)'),

      getType: db.prepare<[string], ThingTypeRow>(`SELECT ${TYPE_COLUMNS} FROM thing_types WHERE thing_type_name = ?`),
      upsertType: db.prepare<[string, string, string, number, number | null, number]>(
        `INSERT INTO thing_types (${TYPE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (thing_type_name) DO UPDATE SET
           thing_type_id = excluded.thing_type_id,
           properties = excluded.properties,
           deprecated = excluded.deprecated,
           deprecation_date_ms = excluded.deprecation_date_ms,
           creation_date_ms = excluded.creation_date_ms`,
      ),
      deleteType: db.prepare<[string]>('DELETE FROM thing_types WHERE thing_type_name = ?'),
      listTypes: db.prepare<[{ after: string | null; name: string | null; limit: number }], ThingTypeRow>(
        `SELECT ${TYPE_COLUMNS} FROM thing_types
         WHERE (@after IS NULL OR thing_type_name > @after) AND (@name IS NULL OR thing_type_name = @name)
         ORDER BY thing_type_name LIMIT @limit`,
      ),
      typeInUse: db.prepare<[string], number>('SELECT 1 FROM things WHERE thing_type_name = ? LIMIT 1').pluck(),

      attach: db.prepare<[string, string, string, number]>(
        `INSERT INTO thing_principals (thing_name, principal, thing_principal_type, attached_at_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (thing_name, principal) DO UPDATE SET thing_principal_type = excluded.thing_principal_type`,
      ),
      detach: db.prepare<[string, string]>('DELETE FROM thing_principals WHERE thing_name = ? AND principal = ?'),
      getAttachment: db.prepare<[string, string], AttachmentRow>(
        `SELECT ${ATTACHMENT_COLUMNS} FROM thing_principals WHERE thing_name = ? AND principal = ?`,
      ),
      thingPrincipals: db.prepare<[AttachmentParams], AttachmentRow>(
        `SELECT ${ATTACHMENT_COLUMNS} FROM thing_principals
         WHERE thing_name = @key AND seq > @after AND (@type IS NULL OR thing_principal_type = @type)
         ORDER BY seq LIMIT @limit`,
      ),
      principalThings: db.prepare<[AttachmentParams], AttachmentRow>(
        `SELECT ${ATTACHMENT_COLUMNS} FROM thing_principals
         WHERE principal = @key AND seq > @after AND (@type IS NULL OR thing_principal_type = @type)
         ORDER BY seq LIMIT @limit`,
      ),
      thingHasPrincipals: db.prepare<[string], number>('SELECT 1 FROM thing_principals WHERE thing_name = ? LIMIT 1').pluck(),
      principalElsewhere: db.prepare<[{ principal: string; thingName: string; exclusiveOnly: number }], number>(
        `SELECT 1 FROM thing_principals
         WHERE principal = @principal AND thing_name <> @thingName
           AND (@exclusiveOnly = 0 OR thing_principal_type = 'EXCLUSIVE_THING')
         LIMIT 1`,
      ).pluck(),
    };

    this.#applyBatch = batchTransaction<RegistryOp>(db, (op) => this.#applyOne(op), describeOp);
  }

  #applyOne(op: RegistryOp): void {
    const s = this.#s;
    switch (op.op) {
      case 'putThing': {
        const t = op.thing;
        s.upsertThing.run(
          t.thingName,
          t.thingId,
          t.thingTypeName ?? null,
          JSON.stringify(t.attributes),
          t.version,
          t.billingGroupName ?? null,
          t.creationDateMs,
        );
        s.deleteAttributes.run(t.thingName);
        for (const [name, value] of Object.entries(t.attributes)) {
          if (typeof value !== 'string') throw new TypeError(`attribute ${JSON.stringify(name)} is not a string`);
          s.insertAttribute.run(t.thingName, name, value);
        }
        return;
      }
      case 'deleteThing':
        s.deleteThing.run(op.thingName);
        return;
      case 'putThingType': {
        const t = op.thingType;
        s.upsertType.run(
          t.thingTypeName,
          t.thingTypeId,
          JSON.stringify(t.thingTypeProperties),
          t.deprecated ? 1 : 0,
          t.deprecationDateMs ?? null,
          t.creationDateMs,
        );
        return;
      }
      case 'deleteThingType':
        s.deleteType.run(op.thingTypeName);
        return;
      case 'attachPrincipal':
        s.attach.run(op.thingName, op.principal, op.thingPrincipalType, op.attachedAtMs);
        return;
      case 'detachPrincipal':
        s.detach.run(op.thingName, op.principal);
        return;
      case 'checkThing': {
        const row = s.getThing.get(op.thingName);
        if (!op.exists) {
          if (row !== undefined) throw new ConditionNotMet('the thing exists');
        } else if (row === undefined) {
          throw new ConditionNotMet('the thing does not exist');
        } else if (op.version !== undefined && row.version !== op.version) {
          throw new ConditionNotMet(`the thing is at version ${row.version}, not ${op.version}`);
        }
        return;
      }
      case 'checkThingType': {
        const row = s.getType.get(op.thingTypeName);
        if (!op.exists) {
          if (row !== undefined) throw new ConditionNotMet('the thing type exists');
        } else if (row === undefined) {
          throw new ConditionNotMet('the thing type does not exist');
        } else if (op.deprecated !== undefined && (row.deprecated === 1) !== op.deprecated) {
          throw new ConditionNotMet(op.deprecated ? 'the thing type is not deprecated' : 'the thing type is deprecated');
        }
        return;
      }
      case 'checkThingHasNoPrincipals':
        if (s.thingHasPrincipals.get(op.thingName) !== undefined) throw new ConditionNotMet('the thing has attached principals');
        return;
      case 'checkThingTypeUnused':
        if (s.typeInUse.get(op.thingTypeName) !== undefined) throw new ConditionNotMet('a thing has this type');
        return;
      case 'checkPrincipalNotAttachedElsewhere':
        if (s.principalElsewhere.get({ principal: op.principal, thingName: op.thingName, exclusiveOnly: op.exclusiveOnly ? 1 : 0 }) !== undefined) {
          throw new ConditionNotMet(`the principal is attached${op.exclusiveOnly ? ' exclusively' : ''} to another thing`);
        }
        return;
      default:
        throw new TypeError(`unknown registry op ${JSON.stringify((op as { op?: unknown }).op)}`);
    }
  }

  async apply(ops: readonly RegistryOp[]): Promise<void> {
    this.#handle.db();
    if (ops.length === 0) return;
    this.#applyBatch(ops);
  }

  async getThing(thingName: string): Promise<ThingRecord | undefined> {
    this.#handle.db();
    const row = this.#s.getThing.get(thingName);
    return row === undefined ? undefined : thingFromRow(row);
  }

  async listThings(query: ThingQuery): Promise<ThingRecord[]> {
    this.#handle.db();
    const params: unknown[] = [];
    const where: string[] = [];
    const byAttribute = query.attributeName !== undefined;
    const nameColumn = byAttribute ? 'a.thing_name' : 't.thing_name';
    if (query.afterThingName !== undefined) {
      where.push(`${nameColumn} > ?`);
      params.push(query.afterThingName);
    }
    if (query.thingTypeName !== undefined) {
      where.push('t.thing_type_name = ?');
      params.push(query.thingTypeName);
    }
    let shape = `${query.afterThingName !== undefined}/${query.thingTypeName !== undefined}`;
    if (byAttribute) {
      where.push('a.name = ?');
      params.push(query.attributeName);
      if (query.attributeValue !== undefined) {
        if (query.attributeValueIsPrefix === true) {
          // Not LIKE: it is case-insensitive for ASCII and needs escaping; substr/length count characters alike.
          where.push('a.value >= ? AND substr(a.value, 1, length(?)) = ?');
          params.push(query.attributeValue, query.attributeValue, query.attributeValue);
          shape += '/prefix';
        } else {
          where.push('a.value = ?');
          params.push(query.attributeValue);
          shape += '/exact';
        }
      } else {
        shape += '/has';
      }
    }
    params.push(query.limit);
    let statement = this.#thingQueries.get(shape);
    if (statement === undefined) {
      const from = byAttribute ? 'thing_attributes a JOIN things t ON t.thing_name = a.thing_name' : 'things t';
      const columns = THING_COLUMNS.split(', ').map((c) => `t.${c}`).join(', ');
      const sql =
        `SELECT ${columns} FROM ${from}` +
        (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
        ` ORDER BY ${nameColumn} LIMIT ?`;
      statement = this.#db.prepare<unknown[], ThingRow>(sql);
      this.#thingQueries.set(shape, statement);
    }
    return statement.all(...params).map(thingFromRow);
  }

  async getThingType(thingTypeName: string): Promise<ThingTypeRecord | undefined> {
    this.#handle.db();
    const row = this.#s.getType.get(thingTypeName);
    return row === undefined ? undefined : thingTypeFromRow(row);
  }

  async listThingTypes(query: ThingTypeQuery): Promise<ThingTypeRecord[]> {
    this.#handle.db();
    return this.#s.listTypes
      .all({ after: query.afterThingTypeName ?? null, name: query.thingTypeName ?? null, limit: query.limit })
      .map(thingTypeFromRow);
  }

  async getAttachment(thingName: string, principal: string): Promise<ThingPrincipalRecord | undefined> {
    this.#handle.db();
    const row = this.#s.getAttachment.get(thingName, principal);
    return row === undefined ? undefined : attachmentFromRow(row);
  }

  async listThingPrincipals(thingName: string, query: AttachmentQuery): Promise<ThingPrincipalRecord[]> {
    this.#handle.db();
    return this.#s.thingPrincipals.all(attachmentParams(thingName, query)).map(attachmentFromRow);
  }

  async listPrincipalThings(principal: string, query: AttachmentQuery): Promise<ThingPrincipalRecord[]> {
    this.#handle.db();
    return this.#s.principalThings.all(attachmentParams(principal, query)).map(attachmentFromRow);
  }
}

interface AttachmentParams {
  readonly key: string;
  readonly after: number;
  readonly type: ThingPrincipalType | null;
  readonly limit: number;
}

function attachmentParams(key: string, query: AttachmentQuery): AttachmentParams {
  return { key, after: query.afterSeq ?? 0, type: query.thingPrincipalType ?? null, limit: query.limit };
}
