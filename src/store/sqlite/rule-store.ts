/**
 * RuleStore on SQLite: topic rules (rules/), one row each.
 *
 *   rules  rule_name PK: document (JSON text, never parsed here), topic_pattern, rule_disabled, times
 *
 * The listing is by name (binary collation), optionally filtered on topic_pattern and rule_disabled
 * (ListTopicRules' `topic` and `ruleDisabled`); an index on (topic_pattern, rule_name) serves the
 * topic filter.
 *
 * The `tags` column is a leftover: a rule's tags live in the tag store (tag-store.ts), whose first
 * migration copied this column's [key, value] pairs over. New rows get '[]' and nothing reads it.
 * It is not dropped because the tags room migrates after this one: a rules migration that dropped
 * it would run before that copy on a database upgraded across both.
 */
import type { RuleStore } from '../interfaces.js';
import type { RuleOp, RuleQuery, RuleRecord } from '../records.js';
import type { SqliteHandle } from './handle.js';
import { registerMigrations } from './migrations.js';
import { batchTransaction, ConditionNotMet } from './batch.js';

registerMigrations('rules', [
  {
    version: 1,
    description: 'topic rules',
    up: `
      CREATE TABLE rules (
        rule_name TEXT NOT NULL PRIMARY KEY,
        document TEXT NOT NULL,
        topic_pattern TEXT,
        rule_disabled INTEGER NOT NULL CHECK (rule_disabled IN (0, 1)),
        created_at_ms INTEGER NOT NULL,
        last_modified_at_ms INTEGER NOT NULL,
        tags TEXT NOT NULL
      ) STRICT;
      CREATE INDEX rules_by_topic_pattern ON rules (topic_pattern, rule_name);
    `,
  },
]);

interface RuleRow {
  readonly rule_name: string;
  readonly document: string;
  readonly topic_pattern: string | null;
  readonly rule_disabled: number;
  readonly created_at_ms: number;
  readonly last_modified_at_ms: number;
}

const COLUMNS = 'rule_name, document, topic_pattern, rule_disabled, created_at_ms, last_modified_at_ms';

function ruleFromRow(row: RuleRow): RuleRecord {
  return {
    ruleName: row.rule_name,
    document: row.document,
    ...(row.topic_pattern === null ? {} : { topicPattern: row.topic_pattern }),
    ruleDisabled: row.rule_disabled === 1,
    createdAtMs: row.created_at_ms,
    lastModifiedAtMs: row.last_modified_at_ms,
  };
}

function rowOf(rule: RuleRecord): RuleRow {
  return {
    rule_name: rule.ruleName,
    document: rule.document,
    topic_pattern: rule.topicPattern ?? null,
    rule_disabled: rule.ruleDisabled ? 1 : 0,
    created_at_ms: rule.createdAtMs,
    last_modified_at_ms: rule.lastModifiedAtMs,
  };
}

function describeOp(op: RuleOp): string {
  switch (op.op) {
    case 'putRule':
      return `putRule ${op.rule.ruleName}`;
    case 'deleteRule':
    case 'checkRule':
      return `${op.op} ${op.ruleName}`;
    default:
      return `unknown op ${JSON.stringify((op as { op?: unknown }).op)}`;
  }
}

/** Thrown inside the transaction by a check op that does not hold. */

export class SqliteRuleStore implements RuleStore {
  readonly #handle: SqliteHandle;
  readonly #applyBatch: (ops: readonly RuleOp[]) => void;
  readonly #s;

  constructor(handle: SqliteHandle) {
    this.#handle = handle;
    const db = handle.db();
    this.#s = {
      get: db.prepare<[string], RuleRow>(`SELECT ${COLUMNS} FROM rules WHERE rule_name = ?`),
      list: db.prepare<[{ after: string | null; topic: string | null; disabled: number | null; limit: number }], RuleRow>(
        `SELECT ${COLUMNS} FROM rules
         WHERE (@after IS NULL OR rule_name > @after)
           AND (@topic IS NULL OR topic_pattern = @topic)
           AND (@disabled IS NULL OR rule_disabled = @disabled)
         ORDER BY rule_name ASC LIMIT @limit`,
      ),
      upsert: db.prepare<[RuleRow]>(
        `INSERT INTO rules (${COLUMNS}, tags)
         VALUES (@rule_name, @document, @topic_pattern, @rule_disabled, @created_at_ms, @last_modified_at_ms, '[]')
         ON CONFLICT (rule_name) DO UPDATE SET
           document = excluded.document, topic_pattern = excluded.topic_pattern, rule_disabled = excluded.rule_disabled,
           created_at_ms = excluded.created_at_ms, last_modified_at_ms = excluded.last_modified_at_ms`,
      ),
      delete: db.prepare<[string]>('DELETE FROM rules WHERE rule_name = ?'),
    };

    this.#applyBatch = batchTransaction<RuleOp>(db, (op) => this.#applyOne(op), describeOp);
  }

  #applyOne(op: RuleOp): void {
    const s = this.#s;
    switch (op.op) {
      case 'putRule':
        s.upsert.run(rowOf(op.rule));
        return;
      case 'deleteRule':
        s.delete.run(op.ruleName);
        return;
      case 'checkRule': {
        const exists = s.get.get(op.ruleName) !== undefined;
        if (exists !== op.exists) throw new ConditionNotMet(exists ? 'the rule exists' : 'the rule does not exist');
        return;
      }
      default:
        throw new TypeError(`unknown rule op ${JSON.stringify((op as { op?: unknown }).op)}`);
    }
  }

  async apply(ops: readonly RuleOp[]): Promise<void> {
    this.#handle.db();
    if (ops.length === 0) return;
    this.#applyBatch(ops);
  }

  async getRule(ruleName: string): Promise<RuleRecord | undefined> {
    this.#handle.db();
    const row = this.#s.get.get(ruleName);
    return row === undefined ? undefined : ruleFromRow(row);
  }

  async listRules(query: RuleQuery): Promise<RuleRecord[]> {
    this.#handle.db();
    return this.#s.list
      .all({
        after: query.afterRuleName ?? null,
        topic: query.topicPattern ?? null,
        disabled: query.ruleDisabled === undefined ? null : query.ruleDisabled ? 1 : 0,
        limit: query.limit,
      })
      .map(ruleFromRow);
  }
}
