/**
 * The shadow service: get / update / delete of classic and named shadows with AWS IoT's semantics
 * (spec/shadow.md), over a ShadowStore. It knows no transport: each operation takes the request
 * payload and returns the exact messages to publish (topic + JSON payload) plus the requester's
 * answer, which core/ publishes through the broker and api/ turns into an HTTP response.
 *
 * Ordering and durability:
 *  - every operation on one shadow waits for the previous one (KeyedQueue), so updates apply in
 *    arrival order and a get sees every update accepted before it; different shadows run side by
 *    side;
 *  - an update or delete is a compare-and-set write (on the version and liveness it was computed
 *    from) that joins the current group commit (GroupCommit: one store transaction per event-loop
 *    turn); `accepted` is returned only after that transaction is durable. A compare-and-set that
 *    fails (another process wrote the shadow) starts the operation over from the read;
 *  - a failed commit answers 500 `Internal service failure` and changes nothing.
 *
 * Versions (spec/shadow.md 5.2, 5.4): a new shadow starts at 1; a delete leaves a tombstone with
 * the deleted version for `tombstoneTtlMs` (48 h), and a shadow re-created within it continues from
 * there. Tombstones older than that are purged from the store at most once an hour.
 *
 * Limits: state size, nesting depth and clientToken length (document.ts); at most
 * `maxInFlightPerThing` operations in progress per thing, beyond which 429 `TOO_MANY_REQUESTS`
 * (spec/shadow.md 8). The 20 requests/s per-thing rate is not enforced.
 *
 * Registry coupling (spec/shadow.md 1, 5.4): none by default, any valid thing name has shadows.
 * With `thingExists`, operations on an unregistered thing answer 404 `Thing not found`.
 */
import { AwsErrors, KeyedQueue, encodePageToken, decodePageToken } from '../shared/index.js';
import type { ShadowRecord, ShadowStore, ShadowWrite } from '../store/index.js';
import {
  applyUpdate,
  decodeDocument,
  defaultShadowLimits,
  deleteAccepted,
  encodeDocument,
  getAccepted,
  parseRequestToken,
  parseUpdateRequest,
  rejected,
  type JsonObject,
  type ShadowDocument,
  type ShadowLimits,
  type ShadowSections,
  type UpdateRequest,
} from './document.js';
import { ShadowErrors, type ShadowError } from './errors.js';
import { GroupCommit } from './group-commit.js';
import { checkShadowNames, checkThingName, shadowTopicPrefix, type ShadowOperation, type ShadowReplySuffix } from './names.js';

export interface ShadowServiceLimits extends ShadowLimits {
  /** Operations in progress per thing before 429 (spec/shadow.md 8); 0 = no limit. Default 10. */
  readonly maxInFlightPerThing: number;
}

export interface ShadowHistoryLimit {
  /** Versions kept per shadow; 0 keeps no history. Default 10. */
  readonly maxVersions?: number;
  /** Versions older than this are dropped. Default 30 days. */
  readonly maxAgeMs?: number;
}

export interface ShadowLogger {
  error(obj: object, msg: string): void;
}

export interface ShadowServiceOptions {
  /** The opened Store (only its `shadows` part is used). */
  readonly store: { readonly shadows: ShadowStore };
  /** Wall-clock ms; default Date.now. */
  readonly clock?: () => number;
  readonly limits?: Partial<ShadowServiceLimits>;
  readonly historyLimit?: ShadowHistoryLimit;
  /** How long a deleted shadow's version is remembered (spec/shadow.md 5.4); default 48 h. */
  readonly tombstoneTtlMs?: number;
  /** When given, shadows exist only for things it knows (404 `Thing not found` otherwise). */
  readonly thingExists?: (thingName: string) => Promise<boolean>;
  readonly logger?: ShadowLogger;
}

/** One message to publish. */
export interface ShadowReply {
  readonly topic: string;
  readonly suffix: ShadowReplySuffix;
  /** JSON. */
  readonly payload: Buffer;
}

/**
 * What an operation produced. `body` is the requester's answer: the accepted payload (the HTTP 200
 * body) or the rejected payload. `replies` are the messages to publish over MQTT, in order: for an
 * update `accepted`, then `delta` (when the new document has one), then `documents`; for a refusal
 * only `…/rejected`, which an HTTP caller does not publish (spec/shadow.md 2.1).
 */
export type ShadowResult =
  | {
      readonly ok: true;
      readonly body: Buffer;
      readonly replies: readonly ShadowReply[];
      /** The version after the operation (for a delete: the deleted one). */
      readonly version: number;
      readonly clientToken?: string;
    }
  | {
      readonly ok: false;
      readonly error: ShadowError;
      readonly body: Buffer;
      readonly replies: readonly ShadowReply[];
      readonly clientToken?: string;
    };

export interface ListNamedShadowsInput {
  readonly nextToken?: string;
  /** 1–100; default 25. */
  readonly pageSize?: number;
}

/** The HTTP ListNamedShadowsForThing body (spec/shadow.md 9). */
export interface ListNamedShadowsOutput {
  readonly results: string[];
  readonly nextToken?: string;
  /** Epoch seconds. */
  readonly timestamp: number;
}

export interface ShadowHistoryInput {
  /** 1–100; default 10. */
  readonly limit?: number;
  /** Only versions strictly below this one. */
  readonly before?: number;
}

export interface ShadowVersion {
  readonly version: number;
  /** Epoch seconds when this version was accepted. */
  readonly timestamp: number;
  readonly state: ShadowSections;
  readonly metadata: ShadowSections;
}

export interface ShadowHistoryPage {
  /** Newest first. */
  readonly versions: ShadowVersion[];
  /** Pass as `before` for the next page; absent on the last one. */
  readonly nextBefore?: number;
}

export interface ShadowService {
  /**
   * `$aws/things/{thingName}/shadow[/name/{shadowName}]/get`. `clientToken` is used when the
   * payload carries none (the HTTP API has no payload on get/delete).
   */
  get(thingName: string, shadowName: string | undefined, payload: Buffer, clientToken?: string): Promise<ShadowResult>;
  update(thingName: string, shadowName: string | undefined, payload: Buffer, clientToken?: string): Promise<ShadowResult>;
  delete(thingName: string, shadowName: string | undefined, payload: Buffer, clientToken?: string): Promise<ShadowResult>;
  /** A refusal decided outside the service (authorization): the `/rejected` reply with the request's clientToken. */
  refuse(operation: ShadowOperation, thingName: string, shadowName: string | undefined, payload: Buffer, error: ShadowError): ShadowResult;
  /** ListNamedShadowsForThing; throws InvalidRequestException for a bad thing name, pageSize or nextToken. */
  listNamedShadows(thingName: string, input?: ListNamedShadowsInput): Promise<ListNamedShadowsOutput>;
  /** The kept versions of a shadow, newest first (a Thingcore extension; not in AWS). */
  history(thingName: string, shadowName: string | undefined, input?: ShadowHistoryInput): Promise<ShadowHistoryPage>;
  /** Waits for the operations in progress and their commits; later operations are refused with 500. Idempotent. */
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;
const maxAttempts = 5;

export function createShadowService(options: ShadowServiceOptions): ShadowService {
  return new ShadowServiceImpl(options);
}

/** A current row seen as the model needs it. */
interface Current {
  readonly document: ShadowDocument | undefined;
  /** The version an update applies to (or continues from, for a new shadow). */
  readonly baseVersion: number;
  /** The compare-and-set condition for a write computed from this row. */
  readonly expected: ShadowWrite['expected'];
}

class ShadowServiceImpl implements ShadowService {
  readonly #store: ShadowStore;
  readonly #clock: () => number;
  readonly #limits: ShadowServiceLimits;
  readonly #maxVersions: number;
  readonly #maxAgeMs: number;
  readonly #tombstoneTtlMs: number;
  readonly #thingExists: ((thingName: string) => Promise<boolean>) | undefined;
  readonly #logger: ShadowLogger | undefined;
  readonly #queue = new KeyedQueue();
  readonly #commit: GroupCommit;
  readonly #inFlight = new Map<string, number>();
  readonly #running = new Set<Promise<unknown>>();
  #lastPurgeMs = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(options: ShadowServiceOptions) {
    this.#store = options.store.shadows;
    this.#clock = options.clock ?? Date.now;
    this.#limits = { ...defaultShadowLimits, maxInFlightPerThing: 10, ...options.limits };
    this.#maxVersions = options.historyLimit?.maxVersions ?? 10;
    this.#maxAgeMs = options.historyLimit?.maxAgeMs ?? 30 * 24 * HOUR_MS;
    this.#tombstoneTtlMs = options.tombstoneTtlMs ?? 48 * HOUR_MS;
    this.#thingExists = options.thingExists;
    this.#logger = options.logger;
    this.#commit = new GroupCommit(this.#store);
  }

  get(thingName: string, shadowName: string | undefined, payload: Buffer, clientToken?: string): Promise<ShadowResult> {
    return this.#run('get', thingName, shadowName, payload, clientToken);
  }

  update(thingName: string, shadowName: string | undefined, payload: Buffer, clientToken?: string): Promise<ShadowResult> {
    return this.#run('update', thingName, shadowName, payload, clientToken);
  }

  delete(thingName: string, shadowName: string | undefined, payload: Buffer, clientToken?: string): Promise<ShadowResult> {
    return this.#run('delete', thingName, shadowName, payload, clientToken);
  }

  refuse(operation: ShadowOperation, thingName: string, shadowName: string | undefined, payload: Buffer, error: ShadowError): ShadowResult {
    const token = parseRequestToken(payload, this.#limits);
    return this.#rejection(operation, thingName, shadowName, error, token.ok ? token.clientToken : undefined);
  }

  async listNamedShadows(thingName: string, input: ListNamedShadowsInput = {}): Promise<ListNamedShadowsOutput> {
    const problem = checkThingName(thingName);
    if (problem !== undefined) throw AwsErrors.invalidRequest(problem.message);
    const pageSize = input.pageSize ?? 25;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
      const constraint = pageSize < 1 ? 'Member must have value greater than or equal to 1' : 'Member must have value less than or equal to 100';
      throw AwsErrors.invalidRequest(`1 validation error detected: Value '${pageSize}' at 'pageSize' failed to satisfy constraint: ${constraint}`);
    }
    const after = input.nextToken === undefined || input.nextToken === '' ? undefined : decodePageToken(input.nextToken, `named-shadows:${thingName}`);
    // One more than asked tells whether another page exists.
    const names = await this.#store.listNamedShadows(thingName, { limit: pageSize + 1, ...(after === undefined ? {} : { afterShadowName: after }) });
    const results = names.slice(0, pageSize);
    const last = results[results.length - 1];
    return {
      results,
      ...(names.length > pageSize && last !== undefined ? { nextToken: encodePageToken(`named-shadows:${thingName}`, last) } : {}),
      timestamp: Math.floor(this.#clock() / 1000),
    };
  }

  async history(thingName: string, shadowName: string | undefined, input: ShadowHistoryInput = {}): Promise<ShadowHistoryPage> {
    const problem = checkShadowNames(thingName, shadowName);
    if (problem !== undefined) throw AwsErrors.invalidRequest(problem.message);
    const limit = input.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw AwsErrors.invalidRequest('limit must be an integer from 1 to 100');
    if (input.before !== undefined && !Number.isSafeInteger(input.before)) throw AwsErrors.invalidRequest('before must be an integer');
    const rows = await this.#store.listShadowHistory(thingName, shadowName ?? '', {
      limit: limit + 1,
      ...(input.before === undefined ? {} : { beforeVersion: input.before }),
    });
    const page = rows.slice(0, limit);
    const versions = page.map((row): ShadowVersion => {
      const doc = decodeDocument(row.document, row.version);
      return { version: row.version, timestamp: Math.floor(row.updatedAtMs / 1000), state: doc.state, metadata: doc.metadata };
    });
    const last = page[page.length - 1];
    return { versions, ...(rows.length > limit && last !== undefined ? { nextBefore: last.version } : {}) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    await this.#commit.drain();
  }

  // ─── The pipeline every operation goes through ─────────────────────────────────────────────

  #run(operation: ShadowOperation, thingName: string, shadowName: string | undefined, payload: Buffer, callerToken: string | undefined): Promise<ShadowResult> {
    const work = this.#admit(operation, thingName, shadowName, payload, callerToken);
    this.#running.add(work);
    const forget = (): void => void this.#running.delete(work);
    work.then(forget, forget);
    return work;
  }

  async #admit(
    operation: ShadowOperation,
    thingName: string,
    shadowName: string | undefined,
    payload: Buffer,
    callerToken: string | undefined,
  ): Promise<ShadowResult> {
    // Parse first: a rejection echoes the request's clientToken whenever it had a valid one.
    let clientToken: string | undefined;
    let request: UpdateRequest | undefined;
    if (operation === 'update') {
      const parsed = parseUpdateRequest(payload, this.#limits);
      if (!parsed.ok) return this.#rejection(operation, thingName, shadowName, parsed, parsed.clientToken ?? callerToken);
      request = parsed.request.clientToken === undefined && callerToken !== undefined ? { ...parsed.request, clientToken: callerToken } : parsed.request;
      clientToken = request.clientToken;
    } else {
      const parsed = parseRequestToken(payload, this.#limits);
      if (!parsed.ok) return this.#rejection(operation, thingName, shadowName, parsed, callerToken);
      clientToken = parsed.clientToken ?? callerToken;
    }
    const nameProblem = checkShadowNames(thingName, shadowName);
    if (nameProblem !== undefined) return this.#rejection(operation, thingName, shadowName, nameProblem, clientToken);
    if (this.#closed) return this.#rejection(operation, thingName, shadowName, ShadowErrors.internal, clientToken);

    const limit = this.#limits.maxInFlightPerThing;
    const inFlight = this.#inFlight.get(thingName) ?? 0;
    if (limit > 0 && inFlight >= limit) return this.#rejection(operation, thingName, shadowName, ShadowErrors.tooManyRequests, clientToken);
    this.#inFlight.set(thingName, inFlight + 1);
    try {
      // Queued before anything awaits, so one shadow's requests are served in arrival order.
      return await this.#queue.run(`${thingName}/${shadowName ?? ''}`, async () => {
        if (this.#thingExists !== undefined && !(await this.#thingExists(thingName))) {
          return this.#rejection(operation, thingName, shadowName, ShadowErrors.thingNotFound, clientToken);
        }
        switch (operation) {
          case 'get':
            return this.#get(thingName, shadowName, clientToken);
          case 'update':
            if (request === undefined) throw new Error('an update without its parsed request');
            return this.#update(thingName, shadowName, request);
          case 'delete':
            return this.#delete(thingName, shadowName, clientToken);
        }
      });
    } catch (err: unknown) {
      this.#logger?.error({ err, thingName, shadowName, operation }, 'shadow operation failed');
      return this.#rejection(operation, thingName, shadowName, ShadowErrors.internal, clientToken);
    } finally {
      const n = (this.#inFlight.get(thingName) ?? 1) - 1;
      if (n <= 0) this.#inFlight.delete(thingName);
      else this.#inFlight.set(thingName, n);
    }
  }

  async #get(thingName: string, shadowName: string | undefined, clientToken: string | undefined): Promise<ShadowResult> {
    const row = await this.#store.getShadow(thingName, shadowName ?? '');
    const nowMs = this.#clock();
    const current = this.#current(row, nowMs);
    if (current.document === undefined) {
      return this.#rejection('get', thingName, shadowName, ShadowErrors.noShadow(shadowName ?? thingName), clientToken);
    }
    const body = getAccepted(current.document, seconds(nowMs), clientToken);
    return this.#accepted(thingName, shadowName, current.document.version, clientToken, [['get/accepted', body]]);
  }

  async #update(thingName: string, shadowName: string | undefined, request: UpdateRequest): Promise<ShadowResult> {
    for (let attempt = 1; ; attempt++) {
      const row = await this.#store.getShadow(thingName, shadowName ?? '');
      const nowMs = this.#clock();
      const current = this.#current(row, nowMs);
      const outcome = applyUpdate({ current: current.document, baseVersion: current.baseVersion, request, nowSec: seconds(nowMs), limits: this.#limits });
      if (!outcome.ok) return this.#rejection('update', thingName, shadowName, outcome, outcome.clientToken);
      const write: ShadowWrite = {
        shadow: {
          thingName,
          shadowName: shadowName ?? '',
          version: outcome.document.version,
          document: encodeDocument(outcome.document),
          updatedAtMs: nowMs,
        },
        expected: current.expected,
        history: { maxVersions: this.#maxVersions, notBeforeMs: nowMs - this.#maxAgeMs },
      };
      if ((await this.#write(write, nowMs)) === 'written') {
        const replies: Array<[ShadowReplySuffix, JsonObject]> = [['update/accepted', outcome.accepted]];
        if (outcome.delta !== undefined) replies.push(['update/delta', outcome.delta]);
        replies.push(['update/documents', outcome.documents]);
        return this.#accepted(thingName, shadowName, outcome.document.version, request.clientToken, replies);
      }
      if (attempt >= maxAttempts) throw new Error(`the shadow kept changing under ${maxAttempts} attempts to update it`);
    }
  }

  async #delete(thingName: string, shadowName: string | undefined, clientToken: string | undefined): Promise<ShadowResult> {
    for (let attempt = 1; ; attempt++) {
      const row = await this.#store.getShadow(thingName, shadowName ?? '');
      const nowMs = this.#clock();
      const current = this.#current(row, nowMs);
      if (current.document === undefined) {
        return this.#rejection('delete', thingName, shadowName, ShadowErrors.noShadow(shadowName ?? thingName), clientToken);
      }
      const version = current.document.version;
      const tombstone: ShadowRecord = { thingName, shadowName: shadowName ?? '', version, document: null, updatedAtMs: nowMs };
      if ((await this.#write({ shadow: tombstone, expected: current.expected }, nowMs)) === 'written') {
        const body = deleteAccepted(version, seconds(nowMs), clientToken);
        return this.#accepted(thingName, shadowName, version, clientToken, [['delete/accepted', body]]);
      }
      if (attempt >= maxAttempts) throw new Error(`the shadow kept changing under ${maxAttempts} attempts to delete it`);
    }
  }

  #current(row: ShadowRecord | undefined, nowMs: number): Current {
    if (row === undefined) return { document: undefined, baseVersion: 0, expected: null };
    if (row.document === null) {
      const remembered = nowMs - row.updatedAtMs < this.#tombstoneTtlMs;
      return { document: undefined, baseVersion: remembered ? row.version : 0, expected: { version: row.version, deleted: true } };
    }
    return { document: decodeDocument(row.document, row.version), baseVersion: row.version, expected: { version: row.version, deleted: false } };
  }

  async #write(write: ShadowWrite, nowMs: number): Promise<'written' | 'conflict'> {
    const outcome = await this.#commit.submit(write);
    if (nowMs - this.#lastPurgeMs >= HOUR_MS) {
      this.#lastPurgeMs = nowMs;
      this.#store.purgeTombstones(nowMs - this.#tombstoneTtlMs).catch((err: unknown) => {
        this.#logger?.error({ err }, 'purging shadow tombstones failed');
      });
    }
    return outcome;
  }

  // ─── Results ───────────────────────────────────────────────────────────────────────────────

  #accepted(
    thingName: string,
    shadowName: string | undefined,
    version: number,
    clientToken: string | undefined,
    messages: ReadonlyArray<readonly [ShadowReplySuffix, JsonObject]>,
  ): ShadowResult {
    const prefix = shadowTopicPrefix(thingName, shadowName);
    const replies = messages.map(([suffix, body]): ShadowReply => ({ topic: `${prefix}/${suffix}`, suffix, payload: Buffer.from(JSON.stringify(body)) }));
    return { ok: true, body: replies[0]!.payload, replies, version, ...(clientToken === undefined ? {} : { clientToken }) };
  }

  #rejection(
    operation: ShadowOperation,
    thingName: string,
    shadowName: string | undefined,
    error: ShadowError,
    clientToken: string | undefined,
  ): ShadowResult {
    const suffix: ShadowReplySuffix = `${operation}/rejected`;
    const e: ShadowError = { code: error.code, message: error.message };
    const payload = Buffer.from(JSON.stringify(rejected({ ...e, ...(clientToken === undefined ? {} : { clientToken }) }, seconds(this.#clock()))));
    const reply: ShadowReply = { topic: `${shadowTopicPrefix(thingName, shadowName)}/${suffix}`, suffix, payload };
    return { ok: false, error: e, body: payload, replies: [reply], ...(clientToken === undefined ? {} : { clientToken }) };
  }
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

