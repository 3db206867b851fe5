/**
 * SessionStore on SQLite: persistent MQTT sessions, their subscriptions, the messages owed to them
 * and the QoS 2 packet ids awaiting PUBREL.
 *
 *   sessions ─┬─< session_subscriptions   (client_id, topic_filter)
 *             ├─< session_awaiting_rel    (client_id, packet_id)
 *             └─< session_messages        (client_id, seq): state, packet_id, qos, retain, body_id
 *                        >─── message_bodies (id): topic, payload, created_at_ms, expires_at_ms, properties
 *
 * Why the message is split in two tables: SQLite rewrites a whole row (overflow pages included) on
 * UPDATE, so if the payload sat beside `state` every PUBACK/PUBREC would rewrite it. `updateMessage`
 * touches only the small session_messages row.
 *
 * Bodies are shared within a batch: when several putMessage ops of one `apply` carry the same
 * message (same payload Buffer object, topic, createdAtMs, expiresAtMs and properties object — what a
 * fan-out to many offline sessions produces), the body is written once and each session row points to
 * it; qos and retain stay per row, as each subscription may downgrade them. Triggers delete a body when
 * its last session row goes (deleteMessage, deleteSession's cascade, or a putMessage that replaces
 * it). Ids are AUTOINCREMENT so an id is never reused and a body remembered earlier in the batch is
 * either still the same body or gone (checked before reuse).
 *
 * Integrity: a subscription, message or awaitingRel entry needs its session to exist at that point in
 * the batch (foreign keys checked per op); otherwise the op fails and the batch rolls back.
 * Deleting or updating something that does not exist changes nothing.
 *
 * Orders: loadAll returns sessions by clientId; subscriptions in the order first subscribed (replacing
 * one keeps its place); messages by seq; awaitingRel ascending.
 */
import type { SessionStore } from '../interfaces.js';
import type {
  MessageRecord,
  SessionMessageRecord,
  SessionOp,
  SessionRecord,
  StoredSession,
  SubscriptionRecord,
} from '../records.js';
import type { SqliteHandle } from './handle.js';
import { registerMigrations, type SqliteDatabase } from './migrations.js';
import { messageFromColumns, propertiesToColumn, type MessageColumns, type Mutable } from './message-row.js';
import { StoreError } from '../errors.js';

registerMigrations('sessions', [
  {
    version: 1,
    description: 'sessions, subscriptions, messages with shared bodies, awaitingRel',
    up: `
      CREATE TABLE sessions (
        client_id TEXT NOT NULL PRIMARY KEY,
        protocol_version INTEGER NOT NULL CHECK (protocol_version IN (3, 4, 5)),
        session_expiry_interval_sec INTEGER NOT NULL CHECK (session_expiry_interval_sec >= 0),
        disconnected_at_ms INTEGER,
        session_identifier TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE session_subscriptions (
        client_id TEXT NOT NULL REFERENCES sessions (client_id) ON DELETE CASCADE,
        topic_filter TEXT NOT NULL,
        qos INTEGER NOT NULL CHECK (qos IN (0, 1, 2)),
        no_local INTEGER NOT NULL CHECK (no_local IN (0, 1)),
        retain_as_published INTEGER NOT NULL CHECK (retain_as_published IN (0, 1)),
        retain_handling INTEGER NOT NULL CHECK (retain_handling IN (0, 1, 2)),
        subscription_id INTEGER CHECK (subscription_id BETWEEN 1 AND 268435455),
        PRIMARY KEY (client_id, topic_filter)
      ) STRICT;

      CREATE TABLE message_bodies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER,
        properties BLOB,
        payload BLOB NOT NULL
      ) STRICT;

      CREATE TABLE session_messages (
        client_id TEXT NOT NULL REFERENCES sessions (client_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'released')),
        packet_id INTEGER CHECK (packet_id BETWEEN 1 AND 65535),
        qos INTEGER NOT NULL CHECK (qos IN (0, 1, 2)),
        retain INTEGER NOT NULL CHECK (retain IN (0, 1)),
        body_id INTEGER NOT NULL REFERENCES message_bodies (id),
        PRIMARY KEY (client_id, seq)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX session_messages_by_body ON session_messages (body_id);

      CREATE TRIGGER session_messages_free_body_after_delete AFTER DELETE ON session_messages
      WHEN NOT EXISTS (SELECT 1 FROM session_messages WHERE body_id = OLD.body_id)
      BEGIN
        DELETE FROM message_bodies WHERE id = OLD.body_id;
      END;

      CREATE TRIGGER session_messages_free_body_after_update AFTER UPDATE OF body_id ON session_messages
      WHEN OLD.body_id <> NEW.body_id
        AND NOT EXISTS (SELECT 1 FROM session_messages WHERE body_id = OLD.body_id)
      BEGIN
        DELETE FROM message_bodies WHERE id = OLD.body_id;
      END;

      CREATE TABLE session_awaiting_rel (
        client_id TEXT NOT NULL REFERENCES sessions (client_id) ON DELETE CASCADE,
        packet_id INTEGER NOT NULL CHECK (packet_id BETWEEN 1 AND 65535),
        PRIMARY KEY (client_id, packet_id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
]);

interface SessionRow {
  readonly client_id: string;
  readonly protocol_version: number;
  readonly session_expiry_interval_sec: number;
  readonly disconnected_at_ms: number | null;
  readonly session_identifier: string;
}

interface SubscriptionRow {
  readonly client_id: string;
  readonly topic_filter: string;
  readonly qos: number;
  readonly no_local: number;
  readonly retain_as_published: number;
  readonly retain_handling: number;
  readonly subscription_id: number | null;
}

interface MessageStateRow {
  readonly client_id: string;
  readonly seq: number;
  readonly state: string;
  readonly packet_id: number | null;
  readonly qos: number;
  readonly retain: number;
  readonly body_id: number;
}

type MessageRow = MessageStateRow & MessageColumns;

/** loadAll reads its two big tables as arrays (better-sqlite3 raw mode): a third faster than row objects. */
type BodyTuple = readonly [
  id: number,
  topic: string,
  payload: Buffer,
  created_at_ms: number,
  expires_at_ms: number | null,
  properties: Buffer | null,
];
type MessageStateTuple = readonly [
  client_id: string,
  seq: number,
  state: string,
  packet_id: number | null,
  qos: number,
  retain: number,
  body_id: number,
];

interface AwaitingRelRow {
  readonly client_id: string;
  readonly packet_id: number;
}

const SESSION_COLUMNS = 'client_id, protocol_version, session_expiry_interval_sec, disconnected_at_ms, session_identifier';
const SUBSCRIPTION_COLUMNS =
  'client_id, topic_filter, qos, no_local, retain_as_published, retain_handling, subscription_id';
const MESSAGE_COLUMNS =
  'm.client_id, m.seq, m.state, m.packet_id, m.qos, m.retain, m.body_id, ' +
  'b.topic, b.payload, b.created_at_ms, b.expires_at_ms, b.properties';

function sessionFromRow(row: SessionRow): SessionRecord {
  return {
    clientId: row.client_id,
    protocolVersion: row.protocol_version as SessionRecord['protocolVersion'],
    sessionExpiryIntervalSec: row.session_expiry_interval_sec,
    disconnectedAtMs: row.disconnected_at_ms,
    sessionIdentifier: row.session_identifier,
  };
}

function subscriptionFromRow(row: SubscriptionRow): SubscriptionRecord {
  const subscription: Mutable<SubscriptionRecord> = {
    topicFilter: row.topic_filter,
    qos: row.qos as SubscriptionRecord['qos'],
    noLocal: row.no_local === 1,
    retainAsPublished: row.retain_as_published === 1,
    retainHandling: row.retain_handling as SubscriptionRecord['retainHandling'],
  };
  if (row.subscription_id !== null) subscription.subscriptionId = row.subscription_id;
  return subscription;
}

function sessionMessage(row: MessageStateRow, message: MessageRecord): SessionMessageRecord {
  return {
    clientId: row.client_id,
    seq: row.seq,
    state: row.state as SessionMessageRecord['state'],
    packetId: row.packet_id,
    message,
  };
}

function describeOp(op: SessionOp): string {
  switch (op.op) {
    case 'putSession':
      return `putSession clientId=${JSON.stringify(op.session.clientId)}`;
    case 'deleteSession':
      return `deleteSession clientId=${JSON.stringify(op.clientId)}`;
    case 'putSubscription':
      return `putSubscription clientId=${JSON.stringify(op.clientId)} topicFilter=${JSON.stringify(op.subscription.topicFilter)}`;
    case 'deleteSubscription':
      return `deleteSubscription clientId=${JSON.stringify(op.clientId)} topicFilter=${JSON.stringify(op.topicFilter)}`;
    case 'putMessage':
      return `putMessage clientId=${JSON.stringify(op.message.clientId)} seq=${op.message.seq}`;
    case 'updateMessage':
    case 'deleteMessage':
      return `${op.op} clientId=${JSON.stringify(op.clientId)} seq=${op.seq}`;
    case 'putAwaitingRel':
    case 'deleteAwaitingRel':
      return `${op.op} clientId=${JSON.stringify(op.clientId)} packetId=${op.packetId}`;
    default:
      return `unknown op ${JSON.stringify((op as { op?: unknown }).op)}`;
  }
}

function isForeignKeyError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** Bodies written earlier in the current batch, by payload Buffer object. */
type BatchBodies = Map<Buffer, { readonly message: MessageRecord; readonly id: number }[]>;

function sameBody(a: MessageRecord, b: MessageRecord): boolean {
  return (
    a.payload === b.payload &&
    a.topic === b.topic &&
    a.createdAtMs === b.createdAtMs &&
    a.expiresAtMs === b.expiresAtMs &&
    a.properties === b.properties
  );
}

export class SqliteSessionStore implements SessionStore {
  readonly #handle: SqliteHandle;
  readonly #applyBatch: (ops: readonly SessionOp[]) => void;
  readonly #readAllSnapshot: () => StoredSession[];

  readonly #putSession;
  readonly #deleteSession;
  readonly #putSubscription;
  readonly #deleteSubscription;
  readonly #insertBody;
  readonly #bodyExists;
  readonly #putMessage;
  readonly #updateMessage;
  readonly #deleteMessage;
  readonly #putAwaitingRel;
  readonly #deleteAwaitingRel;

  readonly #selectSession;
  readonly #selectSubscriptions;
  readonly #selectMessages;
  readonly #selectAwaitingRel;
  readonly #selectAllSessions;
  readonly #selectAllSubscriptions;
  readonly #selectAllBodies;
  readonly #selectAllMessageStates;
  readonly #selectAllAwaitingRel;

  constructor(handle: SqliteHandle) {
    this.#handle = handle;
    const db: SqliteDatabase = handle.db();

    this.#putSession = db.prepare<[string, number, number, number | null, string]>(
      `INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET
         protocol_version = excluded.protocol_version,
         session_expiry_interval_sec = excluded.session_expiry_interval_sec,
         disconnected_at_ms = excluded.disconnected_at_ms,
         session_identifier = excluded.session_identifier`,
    );
    this.#deleteSession = db.prepare<[string]>('DELETE FROM sessions WHERE client_id = ?');
    this.#putSubscription = db.prepare<[string, string, number, number, number, number, number | null]>(
      `INSERT INTO session_subscriptions (${SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (client_id, topic_filter) DO UPDATE SET
         qos = excluded.qos,
         no_local = excluded.no_local,
         retain_as_published = excluded.retain_as_published,
         retain_handling = excluded.retain_handling,
         subscription_id = excluded.subscription_id`,
    );
    this.#deleteSubscription = db.prepare<[string, string]>(
      'DELETE FROM session_subscriptions WHERE client_id = ? AND topic_filter = ?',
    );
    this.#insertBody = db.prepare<[string, number, number | null, Buffer | null, Buffer]>(
      `INSERT INTO message_bodies (topic, created_at_ms, expires_at_ms, properties, payload) VALUES (?, ?, ?, ?, ?)`,
    );
    this.#bodyExists = db.prepare<[number], number>('SELECT 1 FROM message_bodies WHERE id = ?').pluck();
    this.#putMessage = db.prepare<[string, number, string, number | null, number, number, number]>(
      `INSERT INTO session_messages (client_id, seq, state, packet_id, qos, retain, body_id) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (client_id, seq) DO UPDATE SET
         state = excluded.state,
         packet_id = excluded.packet_id,
         qos = excluded.qos,
         retain = excluded.retain,
         body_id = excluded.body_id`,
    );
    this.#updateMessage = db.prepare<[string, number | null, string, number]>(
      'UPDATE session_messages SET state = ?, packet_id = ? WHERE client_id = ? AND seq = ?',
    );
    this.#deleteMessage = db.prepare<[string, number]>('DELETE FROM session_messages WHERE client_id = ? AND seq = ?');
    this.#putAwaitingRel = db.prepare<[string, number]>(
      'INSERT INTO session_awaiting_rel (client_id, packet_id) VALUES (?, ?) ON CONFLICT DO NOTHING',
    );
    this.#deleteAwaitingRel = db.prepare<[string, number]>(
      'DELETE FROM session_awaiting_rel WHERE client_id = ? AND packet_id = ?',
    );

    this.#selectSession = db.prepare<[string], SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE client_id = ?`);
    this.#selectSubscriptions = db.prepare<[string], SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM session_subscriptions WHERE client_id = ? ORDER BY rowid`,
    );
    this.#selectMessages = db.prepare<[string], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM session_messages m JOIN message_bodies b ON b.id = m.body_id
       WHERE m.client_id = ? ORDER BY m.seq`,
    );
    this.#selectAwaitingRel = db.prepare<[string], number>(
      'SELECT packet_id FROM session_awaiting_rel WHERE client_id = ? ORDER BY packet_id',
    ).pluck();
    this.#selectAllSessions = db.prepare<[], SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions ORDER BY client_id`);
    this.#selectAllSubscriptions = db.prepare<[], SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM session_subscriptions ORDER BY rowid`,
    );
    this.#selectAllBodies = db
      .prepare<[], BodyTuple>('SELECT id, topic, payload, created_at_ms, expires_at_ms, properties FROM message_bodies')
      .raw(true);
    this.#selectAllMessageStates = db
      .prepare<[], MessageStateTuple>(
        'SELECT client_id, seq, state, packet_id, qos, retain, body_id FROM session_messages ORDER BY client_id, seq',
      )
      .raw(true);
    this.#selectAllAwaitingRel = db.prepare<[], AwaitingRelRow>(
      'SELECT client_id, packet_id FROM session_awaiting_rel ORDER BY client_id, packet_id',
    );

    this.#applyBatch = db.transaction((ops: readonly SessionOp[]) => {
      const bodies: BatchBodies = new Map();
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i] as SessionOp;
        try {
          this.#applyOne(op, bodies);
        } catch (err: unknown) {
          const hint = isForeignKeyError(err) ? ' (no session with this clientId)' : '';
          throw new StoreError(
            'ApplyFailed',
            `apply: op ${i} of ${ops.length} (${describeOp(op)}) failed, batch rolled back: ` +
              `${err instanceof Error ? err.message : String(err)}${hint}`,
            { cause: err },
          );
        }
      }
    }).immediate;
    // One read transaction, so the five reads see one snapshot.
    this.#readAllSnapshot = db.transaction(() => this.#readAll());
  }

  #applyOne(op: SessionOp, bodies: BatchBodies): void {
    switch (op.op) {
      case 'putSession': {
        const s = op.session;
        this.#putSession.run(s.clientId, s.protocolVersion, s.sessionExpiryIntervalSec, s.disconnectedAtMs, s.sessionIdentifier);
        return;
      }
      case 'deleteSession':
        this.#deleteSession.run(op.clientId);
        return;
      case 'putSubscription': {
        const s = op.subscription;
        this.#putSubscription.run(
          op.clientId,
          s.topicFilter,
          s.qos,
          s.noLocal ? 1 : 0,
          s.retainAsPublished ? 1 : 0,
          s.retainHandling,
          s.subscriptionId ?? null,
        );
        return;
      }
      case 'deleteSubscription':
        this.#deleteSubscription.run(op.clientId, op.topicFilter);
        return;
      case 'putMessage': {
        const m = op.message;
        const bodyId = this.#bodyFor(m.message, bodies);
        this.#putMessage.run(m.clientId, m.seq, m.state, m.packetId, m.message.qos, m.message.retain ? 1 : 0, bodyId);
        return;
      }
      case 'updateMessage':
        this.#updateMessage.run(op.state, op.packetId, op.clientId, op.seq);
        return;
      case 'deleteMessage':
        this.#deleteMessage.run(op.clientId, op.seq);
        return;
      case 'putAwaitingRel':
        this.#putAwaitingRel.run(op.clientId, op.packetId);
        return;
      case 'deleteAwaitingRel':
        this.#deleteAwaitingRel.run(op.clientId, op.packetId);
        return;
      default:
        throw new TypeError(`unknown session op ${JSON.stringify((op as { op?: unknown }).op)}`);
    }
  }

  /** The id of a body holding `message`: one written earlier in this batch, or a new one. */
  #bodyFor(message: MessageRecord, bodies: BatchBodies): number {
    const candidates = bodies.get(message.payload);
    if (candidates !== undefined) {
      for (const candidate of candidates) {
        if (sameBody(candidate.message, message) && this.#bodyExists.get(candidate.id) !== undefined) {
          return candidate.id;
        }
      }
    }
    const id = Number(
      this.#insertBody.run(
        message.topic,
        message.createdAtMs,
        message.expiresAtMs ?? null,
        propertiesToColumn(message.properties),
        message.payload,
      ).lastInsertRowid,
    );
    if (candidates === undefined) bodies.set(message.payload, [{ message, id }]);
    else candidates.push({ message, id });
    return id;
  }

  async apply(ops: readonly SessionOp[]): Promise<void> {
    this.#handle.db();
    if (ops.length === 0) return;
    this.#applyBatch(ops);
  }

  async load(clientId: string): Promise<StoredSession | undefined> {
    this.#handle.db();
    const row = this.#selectSession.get(clientId);
    if (row === undefined) return undefined;
    return {
      session: sessionFromRow(row),
      subscriptions: this.#selectSubscriptions.all(clientId).map(subscriptionFromRow),
      messages: this.#selectMessages.all(clientId).map((r) => sessionMessage(r, messageFromColumns(r, r.qos, r.retain))),
      awaitingRel: this.#selectAwaitingRel.all(clientId),
    };
  }

  async loadAll(): Promise<StoredSession[]> {
    this.#handle.db();
    return this.#readAllSnapshot();
  }

  #readAll(): StoredSession[] {
    interface Building {
      readonly session: SessionRecord;
      readonly subscriptions: SubscriptionRecord[];
      readonly messages: SessionMessageRecord[];
      readonly awaitingRel: number[];
    }
    const byClient = new Map<string, Building>();
    const out: Building[] = [];
    for (const row of this.#selectAllSessions.all()) {
      const entry: Building = { session: sessionFromRow(row), subscriptions: [], messages: [], awaitingRel: [] };
      byClient.set(row.client_id, entry);
      out.push(entry);
    }
    for (const row of this.#selectAllSubscriptions.all()) {
      byClient.get(row.client_id)?.subscriptions.push(subscriptionFromRow(row));
    }
    // Bodies are read once each, so sessions that share a body share its payload Buffer (and decoded
    // properties) after a restart too; qos and retain come from each session's row.
    const bodies = new Map<number, MessageRecord>();
    for (const [id, topic, payload, created_at_ms, expires_at_ms, properties] of this.#selectAllBodies.all()) {
      bodies.set(id, messageFromColumns({ topic, payload, created_at_ms, expires_at_ms, properties }, 0, 0));
    }
    for (const [client_id, seq, state, packet_id, qos, retain, body_id] of this.#selectAllMessageStates.all()) {
      const body = bodies.get(body_id);
      const entry = byClient.get(client_id);
      if (body === undefined || entry === undefined) continue; // foreign keys make this unreachable
      const message: Mutable<MessageRecord> = {
        topic: body.topic,
        payload: body.payload,
        qos: qos as MessageRecord['qos'],
        retain: retain === 1,
        createdAtMs: body.createdAtMs,
      };
      if (body.expiresAtMs !== undefined) message.expiresAtMs = body.expiresAtMs;
      if (body.properties !== undefined) message.properties = body.properties;
      entry.messages.push({
        clientId: client_id,
        seq,
        state: state as SessionMessageRecord['state'],
        packetId: packet_id,
        message,
      });
    }
    for (const row of this.#selectAllAwaitingRel.all()) byClient.get(row.client_id)?.awaitingRel.push(row.packet_id);
    return out;
  }
}
