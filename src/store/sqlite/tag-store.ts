/**
 * TagStore on SQLite: the tags of things, thing types, policies, topic rules, certificates and CA
 * certificates, one row per (resource, key).
 *
 *   tags  (resource_type, resource_id, key) PK: value
 *
 *   things ──┐  thing_types ──┐  policies ──┐  rules ──┐  certificates ──┐  ca_certificates ──┐
 *            └─ AFTER DELETE triggers: DELETE FROM tags WHERE (resource_type, resource_id) = the row
 *
 * A tag's resource lives in another room's table, so no foreign key can say "the resource exists";
 * instead putTag looks the resource up in its table inside the batch (a missing one fails the
 * batch), and a trigger per resource table deletes a resource's tags in the very transaction that
 * deletes the resource. The rooms' puts are upserts, never INSERT OR REPLACE, so the triggers fire
 * only on a real delete. That is why this room registers after the rooms it watches (the imports
 * below make sure of it) and its migrations touch their tables.
 *
 * The listing is by key (binary collation), served by the primary key.
 */
import type { TagStore } from '../interfaces.js';
import type { TaggableResourceType, TaggedResource, TagOp, TagQuery, TagRecord } from '../records.js';
import type Database from 'better-sqlite3';
import type { SqliteHandle } from './handle.js';
// The rooms whose tables the migration below reads and puts triggers on register first.
import './registry-store.js';
import './certificate-store.js';
import './policy-store.js';
import './rule-store.js';
import { registerMigrations } from './migrations.js';
import { batchTransaction, ConditionNotMet } from './batch.js';

/** Where each taggable resource lives: its table and primary-key column. */
const resourceTables: Readonly<Record<TaggableResourceType, { readonly table: string; readonly key: string }>> = {
  thing: { table: 'things', key: 'thing_name' },
  thingtype: { table: 'thing_types', key: 'thing_type_name' },
  policy: { table: 'policies', key: 'policy_name' },
  rule: { table: 'rules', key: 'rule_name' },
  cert: { table: 'certificates', key: 'certificate_id' },
  cacert: { table: 'ca_certificates', key: 'certificate_id' },
};

const resourceTypes = Object.keys(resourceTables) as TaggableResourceType[];

const deleteTriggers = resourceTypes
  .map((type) => {
    const { table, key } = resourceTables[type];
    return `
      CREATE TRIGGER ${table}_delete_tags AFTER DELETE ON ${table}
      BEGIN
        DELETE FROM tags WHERE resource_type = '${type}' AND resource_id = OLD.${key};
      END;`;
  })
  .join('\n');

registerMigrations('tags', [
  {
    version: 1,
    description: 'resource tags, deleted with their resource; rule tags moved from rules.tags',
    up: `
      CREATE TABLE tags (
        resource_type TEXT NOT NULL CHECK (resource_type IN (${resourceTypes.map((t) => `'${t}'`).join(', ')})),
        resource_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (resource_type, resource_id, key)
      ) STRICT;
      ${deleteTriggers}

      -- Until now a rule kept the tags of its x-amz-tagging header in rules.tags, a JSON array of
      -- [key, value] pairs; a repeated key keeps its last value, as the header's parser did.
      -- Anything else in there (which no build wrote) is skipped rather than failing the upgrade.
      WITH doc AS (SELECT rule_name, CASE WHEN json_valid(tags) THEN tags ELSE '[]' END AS tags FROM rules)
      INSERT INTO tags (resource_type, resource_id, key, value)
        SELECT 'rule', doc.rule_name, json_extract(doc.tags, pair.fullkey || '[0]'), json_extract(doc.tags, pair.fullkey || '[1]')
        FROM doc, json_each(doc.tags) AS pair
        WHERE json_type(doc.tags, pair.fullkey || '[0]') = 'text' AND json_type(doc.tags, pair.fullkey || '[1]') = 'text'
        ORDER BY doc.rule_name, pair.id
        ON CONFLICT (resource_type, resource_id, key) DO UPDATE SET value = excluded.value;
    `,
  },
]);

interface TagRow {
  readonly key: string;
  readonly value: string;
}

interface TagKeyParams {
  readonly type: TaggableResourceType;
  readonly id: string;
  readonly key: string;
}

function describeOp(op: TagOp): string {
  const resource = (r: TaggedResource | undefined): string => (r === undefined ? '?' : `${r.resourceType}/${r.resourceId}`);
  switch (op.op) {
    case 'putTag':
    case 'deleteTag':
      return `${op.op} ${resource(op.resource)} ${op.key}`;
    case 'checkResource':
      return `checkResource ${resource(op.resource)}`;
    case 'checkTagCount':
      return `checkTagCount ${resource(op.resource)} <= ${op.max}`;
    default:
      return `unknown op ${JSON.stringify((op as { op?: unknown }).op)}`;
  }
}

export class SqliteTagStore implements TagStore {
  readonly #handle: SqliteHandle;
  readonly #applyBatch: (ops: readonly TagOp[]) => void;
  readonly #exists: ReadonlyMap<TaggableResourceType, Database.Statement<[string], number>>;
  readonly #s;

  constructor(handle: SqliteHandle) {
    this.#handle = handle;
    const db = handle.db();
    this.#exists = new Map(
      resourceTypes.map((type) => {
        const { table, key } = resourceTables[type];
        return [type, db.prepare<[string], number>(`SELECT 1 FROM ${table} WHERE ${key} = ?`).pluck()] as const;
      }),
    );
    this.#s = {
      list: db.prepare<[{ type: TaggableResourceType; id: string; after: string | null; limit: number }], TagRow>(
        `SELECT key, value FROM tags
         WHERE resource_type = @type AND resource_id = @id AND (@after IS NULL OR key > @after)
         ORDER BY key ASC LIMIT @limit`,
      ),
      count: db.prepare<[TaggableResourceType, string], number>('SELECT count(*) FROM tags WHERE resource_type = ? AND resource_id = ?').pluck(),
      upsert: db.prepare<[TagKeyParams & { value: string }]>(
        `INSERT INTO tags (resource_type, resource_id, key, value) VALUES (@type, @id, @key, @value)
         ON CONFLICT (resource_type, resource_id, key) DO UPDATE SET value = excluded.value`,
      ),
      delete: db.prepare<[TagKeyParams]>('DELETE FROM tags WHERE resource_type = @type AND resource_id = @id AND key = @key'),
    };
    this.#applyBatch = batchTransaction<TagOp>(db, (op) => this.#applyOne(op), describeOp);
  }

  #applyOne(op: TagOp): void {
    const s = this.#s;
    switch (op.op) {
      case 'putTag':
        if (!this.#has(op.resource)) throw new Error(`${op.resource.resourceType} ${op.resource.resourceId} does not exist`);
        s.upsert.run({ type: op.resource.resourceType, id: op.resource.resourceId, key: op.key, value: op.value });
        return;
      case 'deleteTag':
        s.delete.run({ type: op.resource.resourceType, id: op.resource.resourceId, key: op.key });
        return;
      case 'checkResource':
        if (!this.#has(op.resource)) throw new ConditionNotMet('the resource does not exist');
        return;
      case 'checkTagCount': {
        const count = s.count.get(op.resource.resourceType, op.resource.resourceId) ?? 0;
        if (count > op.max) throw new ConditionNotMet(`the resource has ${count} tags`);
        return;
      }
      default:
        throw new TypeError(`unknown tag op ${JSON.stringify((op as { op?: unknown }).op)}`);
    }
  }

  #has(resource: TaggedResource): boolean {
    const exists = this.#exists.get(resource.resourceType);
    if (exists === undefined) throw new TypeError(`not a taggable resource type: ${JSON.stringify(resource.resourceType)}`);
    return exists.get(resource.resourceId) !== undefined;
  }

  async apply(ops: readonly TagOp[]): Promise<void> {
    this.#handle.db();
    if (ops.length === 0) return;
    this.#applyBatch(ops);
  }

  async resourceExists(resource: TaggedResource): Promise<boolean> {
    this.#handle.db();
    return this.#has(resource);
  }

  async listTags(resource: TaggedResource, query: TagQuery): Promise<TagRecord[]> {
    this.#handle.db();
    return this.#s.list
      .all({ type: resource.resourceType, id: resource.resourceId, after: query.afterKey ?? null, limit: query.limit })
      .map((row) => ({ key: row.key, value: row.value }));
  }
}
