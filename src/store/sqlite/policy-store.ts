/**
 * PolicyStore on SQLite: IoT policies, their versions and their targets (policy/).
 *
 *   policies ─┬─< policy_versions   (policy_name, version_id): document      ON DELETE CASCADE
 *             └─< policy_targets    seq: (policy_name, target) unique        ON DELETE RESTRICT
 *
 * Integrity through foreign keys: a version's and an attachment's policy must exist; deleting a
 * policy takes its versions with it and fails (the batch rolls back) while any target remains, so
 * the service's "refused while attached" rule also holds against a concurrent AttachPolicy.
 *
 * putPolicy is an upsert (INSERT … ON CONFLICT DO UPDATE), never INSERT OR REPLACE: REPLACE deletes
 * the row first, which the cascade would turn into deleting every version.
 *
 * Orders: policies by name (binary collation); a target's policies by name; a policy's targets by
 * seq (AUTOINCREMENT: increasing, never reused). Version ids are stored as integers so that "10"
 * sorts after "9".
 */
import type { PolicyStore } from '../interfaces.js';
import type {
  EffectivePolicyRecord,
  PolicyOp,
  PolicyQuery,
  PolicyRecord,
  PolicyTargetQuery,
  PolicyTargetRecord,
  PolicyVersionRecord,
  TargetPolicyQuery,
} from '../records.js';
import type { SqliteHandle } from './handle.js';
import { registerMigrations } from './migrations.js';
import { batchTransaction, ConditionNotMet } from './batch.js';
import { StoreError } from '../errors.js';

registerMigrations('policy', [
  {
    version: 1,
    description: 'policies, policy versions and policy targets',
    up: `
      CREATE TABLE policies (
        policy_name TEXT NOT NULL PRIMARY KEY,
        default_version_id INTEGER NOT NULL CHECK (default_version_id >= 1),
        next_version_id INTEGER NOT NULL CHECK (next_version_id >= 1),
        creation_date_ms INTEGER NOT NULL,
        last_modified_date_ms INTEGER NOT NULL,
        generation_id TEXT NOT NULL
      ) STRICT;

      CREATE TABLE policy_versions (
        policy_name TEXT NOT NULL REFERENCES policies (policy_name) ON DELETE CASCADE,
        version_id INTEGER NOT NULL CHECK (version_id >= 1),
        document TEXT NOT NULL,
        creation_date_ms INTEGER NOT NULL,
        PRIMARY KEY (policy_name, version_id)
      ) STRICT;

      CREATE TABLE policy_targets (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        policy_name TEXT NOT NULL REFERENCES policies (policy_name) ON DELETE RESTRICT,
        target TEXT NOT NULL,
        attached_at_ms INTEGER NOT NULL,
        UNIQUE (policy_name, target)
      ) STRICT;
      CREATE INDEX policy_targets_by_target ON policy_targets (target, policy_name);
    `,
  },
]);

interface PolicyRow {
  readonly policy_name: string;
  readonly default_version_id: number;
  readonly next_version_id: number;
  readonly creation_date_ms: number;
  readonly last_modified_date_ms: number;
  readonly generation_id: string;
}

interface VersionRow {
  readonly policy_name: string;
  readonly version_id: number;
  readonly document: string;
  readonly creation_date_ms: number;
}

interface TargetRow {
  readonly seq: number;
  readonly policy_name: string;
  readonly target: string;
  readonly attached_at_ms: number;
}

interface EffectiveRow {
  readonly policy_name: string;
  readonly version_id: number;
  readonly document: string;
}

const POLICY_COLUMNS = 'policy_name, default_version_id, next_version_id, creation_date_ms, last_modified_date_ms, generation_id';

function corrupt(what: string, detail: string): StoreError {
  return new StoreError('CorruptRecord', `${what}: ${detail}`);
}

function policyFromRow(row: PolicyRow): PolicyRecord {
  return {
    policyName: row.policy_name,
    defaultVersionId: String(row.default_version_id),
    nextVersionId: row.next_version_id,
    creationDateMs: row.creation_date_ms,
    lastModifiedDateMs: row.last_modified_date_ms,
    generationId: row.generation_id,
  };
}

function versionFromRow(row: VersionRow): PolicyVersionRecord {
  return { policyName: row.policy_name, versionId: String(row.version_id), document: row.document, creationDateMs: row.creation_date_ms };
}

function targetFromRow(row: TargetRow): PolicyTargetRecord {
  return { policyName: row.policy_name, target: row.target, attachedAtMs: row.attached_at_ms, seq: row.seq };
}

/** A version id as the tables keep it; a non-decimal id matches nothing (-1). */
function versionNumber(versionId: string): number {
  return /^[1-9][0-9]{0,14}$/.test(versionId) ? Number(versionId) : -1;
}

function storedVersion(versionId: string, what: string): number {
  const n = versionNumber(versionId);
  if (n < 1) throw corrupt(what, `version id ${JSON.stringify(versionId)} is not a positive decimal integer`);
  return n;
}

function describeOp(op: PolicyOp): string {
  switch (op.op) {
    case 'putPolicy':
      return `putPolicy ${op.policy.policyName}`;
    case 'putPolicyVersion':
      return `putPolicyVersion ${op.version.policyName} ${op.version.versionId}`;
    case 'deletePolicyVersion':
      return `deletePolicyVersion ${op.policyName} ${op.versionId}`;
    case 'attachPolicy':
    case 'detachPolicy':
      return `${op.op} ${op.policyName} ${op.target}`;
    case 'detachTarget':
      return `detachTarget ${op.target}`;
    case 'deletePolicy':
    case 'checkPolicy':
      return `${op.op} ${op.policyName}`;
    default:
      return `unknown op ${JSON.stringify((op as { op?: unknown }).op)}`;
  }
}

/** Thrown inside the transaction by a check op that does not hold. */

export class SqlitePolicyStore implements PolicyStore {
  readonly #handle: SqliteHandle;
  readonly #applyBatch: (ops: readonly PolicyOp[]) => void;
  readonly #s;

  constructor(handle: SqliteHandle) {
    this.#handle = handle;
    const db = handle.db();
    this.#s = {
      getPolicy: db.prepare<[string], PolicyRow>(`SELECT ${POLICY_COLUMNS} FROM policies WHERE policy_name = ?`),
      listPolicies: {
        ASC: db.prepare<[{ after: string | null; limit: number }], PolicyRow>(
          `SELECT ${POLICY_COLUMNS} FROM policies WHERE @after IS NULL OR policy_name > @after ORDER BY policy_name ASC LIMIT @limit`,
        ),
        DESC: db.prepare<[{ after: string | null; limit: number }], PolicyRow>(
          `SELECT ${POLICY_COLUMNS} FROM policies WHERE @after IS NULL OR policy_name < @after ORDER BY policy_name DESC LIMIT @limit`,
        ),
      },
      upsertPolicy: db.prepare<[PolicyRow]>(
        `INSERT INTO policies (${POLICY_COLUMNS})
         VALUES (@policy_name, @default_version_id, @next_version_id, @creation_date_ms, @last_modified_date_ms, @generation_id)
         ON CONFLICT (policy_name) DO UPDATE SET
           default_version_id = excluded.default_version_id, next_version_id = excluded.next_version_id,
           creation_date_ms = excluded.creation_date_ms, last_modified_date_ms = excluded.last_modified_date_ms,
           generation_id = excluded.generation_id`,
      ),
      deletePolicy: db.prepare<[string]>('DELETE FROM policies WHERE policy_name = ?'),
      getVersion: db.prepare<[string, number], VersionRow>(
        'SELECT policy_name, version_id, document, creation_date_ms FROM policy_versions WHERE policy_name = ? AND version_id = ?',
      ),
      listVersions: db.prepare<[string], VersionRow>(
        'SELECT policy_name, version_id, document, creation_date_ms FROM policy_versions WHERE policy_name = ? ORDER BY version_id ASC',
      ),
      upsertVersion: db.prepare<[VersionRow]>(
        `INSERT INTO policy_versions (policy_name, version_id, document, creation_date_ms)
         VALUES (@policy_name, @version_id, @document, @creation_date_ms)
         ON CONFLICT (policy_name, version_id) DO UPDATE SET document = excluded.document, creation_date_ms = excluded.creation_date_ms`,
      ),
      deleteVersion: db.prepare<[string, number]>('DELETE FROM policy_versions WHERE policy_name = ? AND version_id = ?'),
      attach: db.prepare<[{ policy_name: string; target: string; attached_at_ms: number }]>(
        `INSERT INTO policy_targets (policy_name, target, attached_at_ms) VALUES (@policy_name, @target, @attached_at_ms)
         ON CONFLICT (policy_name, target) DO NOTHING`,
      ),
      detach: db.prepare<[string, string]>('DELETE FROM policy_targets WHERE policy_name = ? AND target = ?'),
      detachTarget: db.prepare<[string]>('DELETE FROM policy_targets WHERE target = ?'),
      targetsForPolicy: db.prepare<[{ policy: string; after: number; limit: number }], TargetRow>(
        `SELECT seq, policy_name, target, attached_at_ms FROM policy_targets
         WHERE policy_name = @policy AND seq > @after ORDER BY seq ASC LIMIT @limit`,
      ),
      policiesForTarget: db.prepare<[{ target: string; after: string | null; limit: number }], TargetRow>(
        `SELECT seq, policy_name, target, attached_at_ms FROM policy_targets
         WHERE target = @target AND (@after IS NULL OR policy_name > @after) ORDER BY policy_name ASC LIMIT @limit`,
      ),
      effective: db.prepare<[string], EffectiveRow>(
        `SELECT p.policy_name, v.version_id, v.document
         FROM policy_targets t
         JOIN policies p ON p.policy_name = t.policy_name
         JOIN policy_versions v ON v.policy_name = p.policy_name AND v.version_id = p.default_version_id
         WHERE t.target = ? ORDER BY p.policy_name ASC`,
      ),
    };

    this.#applyBatch = batchTransaction<PolicyOp>(db, (op) => this.#applyOne(op), describeOp);
  }

  #applyOne(op: PolicyOp): void {
    const s = this.#s;
    switch (op.op) {
      case 'putPolicy': {
        const p = op.policy;
        s.upsertPolicy.run({
          policy_name: p.policyName,
          default_version_id: storedVersion(p.defaultVersionId, `policy ${p.policyName} defaultVersionId`),
          next_version_id: p.nextVersionId,
          creation_date_ms: p.creationDateMs,
          last_modified_date_ms: p.lastModifiedDateMs,
          generation_id: p.generationId,
        });
        return;
      }
      case 'deletePolicy':
        s.deletePolicy.run(op.policyName);
        return;
      case 'putPolicyVersion': {
        const v = op.version;
        s.upsertVersion.run({
          policy_name: v.policyName,
          version_id: storedVersion(v.versionId, `policy ${v.policyName} version`),
          document: v.document,
          creation_date_ms: v.creationDateMs,
        });
        return;
      }
      case 'deletePolicyVersion':
        s.deleteVersion.run(op.policyName, versionNumber(op.versionId));
        return;
      case 'attachPolicy':
        s.attach.run({ policy_name: op.policyName, target: op.target, attached_at_ms: op.attachedAtMs });
        return;
      case 'detachPolicy':
        s.detach.run(op.policyName, op.target);
        return;
      case 'detachTarget':
        s.detachTarget.run(op.target);
        return;
      case 'checkPolicy': {
        const row = s.getPolicy.get(op.policyName);
        if (!op.exists) {
          if (row !== undefined) throw new ConditionNotMet('the policy exists');
        } else if (row === undefined) {
          throw new ConditionNotMet('the policy does not exist');
        } else if (op.generationId !== undefined && row.generation_id !== op.generationId) {
          throw new ConditionNotMet(`the policy is at generation ${row.generation_id}, not ${op.generationId}`);
        }
        return;
      }
      default:
        throw new TypeError(`unknown policy op ${JSON.stringify((op as { op?: unknown }).op)}`);
    }
  }

  async apply(ops: readonly PolicyOp[]): Promise<void> {
    this.#handle.db();
    if (ops.length === 0) return;
    this.#applyBatch(ops);
  }

  async getPolicy(policyName: string): Promise<PolicyRecord | undefined> {
    this.#handle.db();
    const row = this.#s.getPolicy.get(policyName);
    return row === undefined ? undefined : policyFromRow(row);
  }

  async listPolicies(query: PolicyQuery): Promise<PolicyRecord[]> {
    this.#handle.db();
    const statement = this.#s.listPolicies[query.order === 'desc' ? 'DESC' : 'ASC'];
    return statement.all({ after: query.afterPolicyName ?? null, limit: query.limit }).map(policyFromRow);
  }

  async getPolicyVersion(policyName: string, versionId: string): Promise<PolicyVersionRecord | undefined> {
    this.#handle.db();
    const row = this.#s.getVersion.get(policyName, versionNumber(versionId));
    return row === undefined ? undefined : versionFromRow(row);
  }

  async listPolicyVersions(policyName: string): Promise<PolicyVersionRecord[]> {
    this.#handle.db();
    return this.#s.listVersions.all(policyName).map(versionFromRow);
  }

  async listTargetsForPolicy(policyName: string, query: PolicyTargetQuery): Promise<PolicyTargetRecord[]> {
    this.#handle.db();
    return this.#s.targetsForPolicy.all({ policy: policyName, after: query.afterSeq ?? 0, limit: query.limit }).map(targetFromRow);
  }

  async listPoliciesForTarget(target: string, query: TargetPolicyQuery): Promise<PolicyTargetRecord[]> {
    this.#handle.db();
    return this.#s.policiesForTarget.all({ target, after: query.afterPolicyName ?? null, limit: query.limit }).map(targetFromRow);
  }

  async listEffectivePolicies(target: string): Promise<EffectivePolicyRecord[]> {
    this.#handle.db();
    return this.#s.effective.all(target).map((r) => ({ policyName: r.policy_name, versionId: String(r.version_id), document: r.document }));
  }
}
