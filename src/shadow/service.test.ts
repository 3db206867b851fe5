// Proves the shadow service over a real SQLite store: replies and topics per operation, names, 404s and tombstones, per-shadow serialization, parallel shadows in one group commit, accepted only after the commit is durable, compare-and-set retries, in-flight limit, history bounds, named-shadow listing, and close.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isServiceError } from '../shared/index.js';
import { openSqliteStore } from '../store/index.js';
import type { ShadowStore, ShadowWrite, ShadowWriteOutcome, Store } from '../store/index.js';
import { createShadowService, toServiceError, ShadowErrors } from './index.js';
import type { ShadowResult, ShadowServiceOptions } from './index.js';

const T0_MS = 1_700_000_000_000;

function json(buffer: Buffer): Record<string, unknown> {
  return JSON.parse(buffer.toString('utf8')) as Record<string, unknown>;
}

const p = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

/** A clock the test moves by hand. */
function manualClock(start = T0_MS): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** The SQLite shadow store with hooks around write (count, delay, fail, interfere). */
class InstrumentedStore implements ShadowStore {
  writes: number[] = [];
  gate: Promise<void> | undefined;
  failNext = false;
  beforeWrite: (() => Promise<void>) | undefined;

  constructor(readonly inner: ShadowStore) {}

  getShadow(thingName: string, shadowName: string) {
    return this.inner.getShadow(thingName, shadowName);
  }
  listNamedShadows(thingName: string, query: Parameters<ShadowStore['listNamedShadows']>[1]) {
    return this.inner.listNamedShadows(thingName, query);
  }
  listShadowHistory(thingName: string, shadowName: string, query: Parameters<ShadowStore['listShadowHistory']>[2]) {
    return this.inner.listShadowHistory(thingName, shadowName, query);
  }
  purgeTombstones(before: number) {
    return this.inner.purgeTombstones(before);
  }
  async write(writes: readonly ShadowWrite[]): Promise<ShadowWriteOutcome[]> {
    this.writes.push(writes.length);
    if (this.gate !== undefined) await this.gate;
    if (this.beforeWrite !== undefined) {
      const hook = this.beforeWrite;
      this.beforeWrite = undefined;
      await hook();
    }
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk on fire');
    }
    return this.inner.write(writes);
  }
}

async function withService(
  body: (ctx: { service: ReturnType<typeof createShadowService>; store: InstrumentedStore; raw: Store; clock: ReturnType<typeof manualClock> }) => Promise<void>,
  options: Partial<Omit<ShadowServiceOptions, 'store'>> = {},
): Promise<void> {
  const raw = openSqliteStore({ path: ':memory:' });
  const store = new InstrumentedStore(raw.shadows);
  const clock = manualClock();
  const service = createShadowService({ clock: clock.now, ...options, store: { shadows: store } });
  try {
    await body({ service, store, raw, clock });
  } finally {
    await service.close();
    await raw.close();
  }
}

function topics(result: ShadowResult): string[] {
  return result.replies.map((r) => r.topic);
}

describe('shadow service: operations and replies', () => {
  it('get of a missing shadow is 404 naming the thing (classic) or the shadow (named), token echoed', () =>
    withService(async ({ service }) => {
      const classic = await service.get('t1', undefined, p({ clientToken: 'g1' }));
      assert.equal(classic.ok, false);
      assert.deepEqual(topics(classic), ['$aws/things/t1/shadow/get/rejected']);
      assert.deepEqual(json(classic.body), { code: 404, message: "No shadow exists with name: 't1'", timestamp: T0_MS / 1000, clientToken: 'g1' });
      const named = await service.get('t1', 'cfg', Buffer.alloc(0));
      assert.deepEqual(topics(named), ['$aws/things/t1/shadow/name/cfg/get/rejected']);
      assert.deepEqual(json(named.body), { code: 404, message: "No shadow exists with name: 'cfg'", timestamp: T0_MS / 1000 });
      const del = await service.delete('t1', 'cfg', Buffer.alloc(0));
      assert.deepEqual(topics(del), ['$aws/things/t1/shadow/name/cfg/delete/rejected']);
      assert.equal(json(del.body)['code'], 404);
    }));

  it('update publishes accepted, delta, documents in that order; get returns the document', () =>
    withService(async ({ service }) => {
      const result = await service.update('t1', undefined, p({ state: { desired: { on: true } }, clientToken: 'u1' }));
      assert.ok(result.ok);
      assert.equal(result.version, 1);
      assert.deepEqual(topics(result), [
        '$aws/things/t1/shadow/update/accepted',
        '$aws/things/t1/shadow/update/delta',
        '$aws/things/t1/shadow/update/documents',
      ]);
      assert.deepEqual(result.body, result.replies[0]?.payload);
      const t = T0_MS / 1000;
      assert.deepEqual(json(result.replies[1]!.payload), { version: 1, timestamp: t, state: { on: true }, metadata: { on: { timestamp: t } }, clientToken: 'u1' });
      const reported = await service.update('t1', undefined, p({ state: { reported: { on: true } } }));
      assert.deepEqual(topics(reported), ['$aws/things/t1/shadow/update/accepted', '$aws/things/t1/shadow/update/documents'], 'no delta when in sync');
      const got = await service.get('t1', undefined, p({ clientToken: 'g' }));
      assert.ok(got.ok);
      assert.deepEqual(json(got.body), {
        state: { desired: { on: true }, reported: { on: true } },
        metadata: { desired: { on: { timestamp: t } }, reported: { on: { timestamp: t } } },
        version: 2,
        timestamp: t,
        clientToken: 'g',
      });
    }));

  it('a refused update publishes only update/rejected and stores nothing', () =>
    withService(async ({ service, store }) => {
      const result = await service.update('t1', 'n', p('{nope'));
      assert.equal(result.ok, false);
      assert.deepEqual(topics(result), ['$aws/things/t1/shadow/name/n/update/rejected']);
      assert.deepEqual(json(result.body), { code: 400, message: 'Invalid JSON', timestamp: T0_MS / 1000 });
      assert.deepEqual(store.writes, []);
    }));

  it('delete answers the deleted version; a re-create within 48 h continues it, after 48 h starts at 1', () =>
    withService(async ({ service, clock }) => {
      for (let i = 0; i < 3; i++) await service.update('t', 's', p({ state: { reported: { i } } }));
      const deleted = await service.delete('t', 's', p({ clientToken: 'd', version: 99 }));
      assert.ok(deleted.ok);
      assert.deepEqual(topics(deleted), ['$aws/things/t/shadow/name/s/delete/accepted']);
      assert.deepEqual(json(deleted.body), { version: 3, timestamp: T0_MS / 1000, clientToken: 'd' });
      assert.equal((await service.get('t', 's', Buffer.alloc(0))).ok, false);
      assert.equal((await service.delete('t', 's', Buffer.alloc(0))).ok, false, 'a deleted shadow cannot be deleted again');
      assert.deepEqual(await service.listNamedShadows('t'), { results: [], timestamp: T0_MS / 1000 });

      const again = await service.update('t', 's', p({ state: { reported: { x: 1 } } }));
      assert.ok(again.ok);
      assert.equal(again.version, 4);
      assert.equal(json(again.replies[1]!.payload)['previous'], null, 'previous is null after a delete');

      await service.delete('t', 's', Buffer.alloc(0));
      clock.advance(48 * 3_600_000);
      const fresh = await service.update('t', 's', p({ state: { reported: { x: 2 } } }));
      assert.ok(fresh.ok);
      assert.equal(fresh.version, 1);
    }));

  it('names: invalid thing or shadow names are 400 with the AWS validation message; $ is allowed in shadow names', () =>
    withService(async ({ service }) => {
      const bad = await service.update('bad.name', undefined, p({ state: {}, clientToken: 'n' }));
      assert.equal(bad.ok, false);
      assert.deepEqual(json(bad.body), {
        code: 400,
        message: "1 validation error detected: Value 'bad.name' at 'thingName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+",
        timestamp: T0_MS / 1000,
        clientToken: 'n',
      });
      const longShadow = await service.get('t', 'x'.repeat(65), Buffer.alloc(0));
      assert.equal(json(longShadow.body)['message'], "1 validation error detected: Value '" + 'x'.repeat(65) + "' at 'shadowName' failed to satisfy constraint: Member must have length less than or equal to 64");
      const longThing = await service.get('x'.repeat(129), undefined, Buffer.alloc(0));
      assert.equal(json(longThing.body)['code'], 400);
      const empty = await service.get('t', '', Buffer.alloc(0));
      assert.match(String(json(empty.body)['message']), /at 'shadowName' failed to satisfy constraint: Member must have length greater than or equal to 1$/);
      const dollar = await service.update('thing:1_a-B', '$package', p({ state: { reported: { v: 1 } } }));
      assert.ok(dollar.ok);
      assert.equal(dollar.replies[0]?.topic, '$aws/things/thing:1_a-B/shadow/name/$package/update/accepted');
    }));

  it('refuse() answers the operation with the given error and the request token', () =>
    withService(async ({ service }) => {
      const refused = service.refuse('update', 't', undefined, p({ state: {}, clientToken: 'r' }), ShadowErrors.unauthorized);
      assert.equal(refused.ok, false);
      assert.deepEqual(topics(refused), ['$aws/things/t/shadow/update/rejected']);
      assert.deepEqual(json(refused.body), { code: 401, message: 'Unauthorized', timestamp: T0_MS / 1000, clientToken: 'r' });
    }));

  it('with thingExists, an unregistered thing is 404 Thing not found; without it any valid name works', () =>
    withService(
      async ({ service }) => {
        const missing = await service.update('ghost', undefined, p({ state: {} }));
        assert.deepEqual(json(missing.body), { code: 404, message: 'Thing not found', timestamp: T0_MS / 1000 });
        assert.ok((await service.update('known', undefined, p({ state: {} }))).ok);
      },
      { thingExists: async (name) => name === 'known' },
    ));
});

describe('shadow service: ordering, group commit and durability', () => {
  it('updates to one shadow are applied one at a time in arrival order', () =>
    withService(
      async ({ service, store }) => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => service.update('t', undefined, p({ state: { reported: { n: i, [`k${i}`]: i } } }))));
        assert.deepEqual(
          results.map((r) => (r.ok ? r.version : -1)),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        const got = json((await service.get('t', undefined, Buffer.alloc(0))).body);
        assert.equal((got['state'] as { reported: { n: number } }).reported.n, 19);
        assert.equal(Object.keys((got['state'] as { reported: object }).reported).length, 21, 'no update was lost');
        assert.equal(store.writes.length, 20, 'one commit per update of the same shadow');
      },
      { limits: { maxInFlightPerThing: 0 } },
    ));

  it('updates to different shadows run in parallel and share one transaction', () =>
    withService(async ({ service, store }) => {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => service.update(`thing-${i}`, i % 2 === 0 ? undefined : 'n', p({ state: { reported: { i } } }))));
      assert.ok(results.every((r) => r.ok && r.version === 1));
      assert.deepEqual(store.writes, [10]);
    }));

  it('concurrent updates carrying the same version: the first wins, the second is 409', () =>
    withService(async ({ service }) => {
      const [a, b] = await Promise.all([
        service.update('t', undefined, p({ state: { desired: { a: 1 } }, version: 0, clientToken: 'a' })),
        service.update('t', undefined, p({ state: { desired: { a: 2 } }, version: 0, clientToken: 'b' })),
      ]);
      assert.ok(a?.ok);
      assert.equal(b?.ok, false);
      assert.deepEqual(json(b!.body), { code: 409, message: 'Version conflict', timestamp: T0_MS / 1000, clientToken: 'b' });
    }));

  it('accepted is returned only after the store committed the new version', () =>
    withService(async ({ service, store, raw }) => {
      let open!: () => void;
      store.gate = new Promise<void>((resolve) => (open = resolve));
      let settled = false;
      const pending = service.update('t', undefined, p({ state: { reported: { a: 1 } } })).then((r) => {
        settled = true;
        return r;
      });
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      assert.equal(settled, false, 'no answer while the commit is pending');
      assert.deepEqual(store.writes, [1], 'the write was submitted');
      assert.equal(await raw.shadows.getShadow('t', ''), undefined);
      open();
      const result = await pending;
      assert.ok(result.ok);
      assert.equal((await raw.shadows.getShadow('t', ''))?.version, 1, 'durable when answered');
    }));

  it('a failed commit answers 500 Internal service failure and changes nothing', () =>
    withService(async ({ service, store, raw }) => {
      await service.update('t', undefined, p({ state: { reported: { a: 1 } } }));
      store.failNext = true;
      const failed = await service.update('t', undefined, p({ state: { reported: { a: 2 } }, clientToken: 'f' }));
      assert.equal(failed.ok, false);
      assert.deepEqual(json(failed.body), { code: 500, message: 'Internal service failure', timestamp: T0_MS / 1000, clientToken: 'f' });
      assert.equal((await raw.shadows.getShadow('t', ''))?.version, 1);
      const next = await service.update('t', undefined, p({ state: { reported: { a: 3 } } }));
      assert.ok(next.ok && next.version === 2);
    }));

  it('a write lost to another writer (compare-and-set) is recomputed on the new document', () =>
    withService(async ({ service, store }) => {
      await service.update('t', undefined, p({ state: { reported: { mine: 0 } } }));
      const other = createShadowService({ store: { shadows: store.inner }, clock: () => T0_MS });
      store.beforeWrite = async () => {
        assert.ok((await other.update('t', undefined, p({ state: { reported: { theirs: 1 } } }))).ok);
      };
      const result = await service.update('t', undefined, p({ state: { reported: { mine: 1 } } }));
      assert.ok(result.ok);
      assert.equal(result.version, 3);
      const got = json((await service.get('t', undefined, Buffer.alloc(0))).body);
      assert.deepEqual((got['state'] as Record<string, unknown>)['reported'], { mine: 1, theirs: 1 });
      await other.close();
    }));

  it('more than maxInFlightPerThing operations in progress on one thing: 429 TOO_MANY_REQUESTS', () =>
    withService(
      async ({ service, store }) => {
        let open!: () => void;
        store.gate = new Promise<void>((resolve) => (open = resolve));
        const first = service.update('t', 'a', p({ state: {} }));
        const second = service.update('t', 'b', p({ state: {} }));
        const third = await service.get('t', 'c', p({ clientToken: 'x' }));
        assert.deepEqual(json(third.body), { code: 429, message: 'TOO_MANY_REQUESTS', timestamp: T0_MS / 1000, clientToken: 'x' });
        const otherThing = service.update('u', undefined, p({ state: {} }));
        open();
        assert.ok((await first).ok && (await second).ok && (await otherThing).ok);
        assert.ok((await service.get('t', 'a', Buffer.alloc(0))).ok, 'the limit is about operations in progress');
      },
      { limits: { maxInFlightPerThing: 2 } },
    ));

  it('close() waits for operations in progress; later operations are refused', () =>
    withService(async ({ service, store, raw }) => {
      let open!: () => void;
      store.gate = new Promise<void>((resolve) => (open = resolve));
      const pending = service.update('t', undefined, p({ state: { reported: { a: 1 } } }));
      await new Promise((r) => setImmediate(r));
      let closed = false;
      const closing = service.close().then(() => (closed = true));
      await new Promise((r) => setImmediate(r));
      assert.equal(closed, false);
      open();
      await closing;
      assert.ok((await pending).ok);
      assert.equal((await raw.shadows.getShadow('t', ''))?.version, 1);
      const late = await service.get('t', undefined, Buffer.alloc(0));
      assert.equal(json(late.body)['code'], 500);
    }));
});

describe('shadow service: history and listing', () => {
  it('history keeps the newest maxVersions versions, newest first, page by page', () =>
    withService(
      async ({ service }) => {
        for (let i = 1; i <= 5; i++) await service.update('t', 'h', p({ state: { reported: { i } } }));
        const page1 = await service.history('t', 'h', { limit: 2 });
        assert.deepEqual(
          page1.versions.map((v) => [v.version, v.state.reported]),
          [
            [5, { i: 5 }],
            [4, { i: 4 }],
          ],
        );
        assert.equal(page1.nextBefore, 4);
        assert.deepEqual(page1.versions[0]?.metadata, { reported: { i: { timestamp: T0_MS / 1000 } } });
        assert.equal(page1.versions[0]?.timestamp, T0_MS / 1000);
        const page2 = await service.history('t', 'h', { limit: 2, before: 4 });
        assert.deepEqual(page2.versions.map((v) => v.version), [3]);
        assert.equal(page2.nextBefore, undefined);
      },
      { historyLimit: { maxVersions: 3 } },
    ));

  it('history drops versions older than maxAgeMs, and a delete drops it all', () =>
    withService(
      async ({ service, clock }) => {
        await service.update('t', undefined, p({ state: { reported: { i: 1 } } }));
        clock.advance(60_000);
        await service.update('t', undefined, p({ state: { reported: { i: 2 } } }));
        clock.advance(30_000);
        await service.update('t', undefined, p({ state: { reported: { i: 3 } } }));
        assert.deepEqual((await service.history('t', undefined)).versions.map((v) => v.version), [3, 2]);
        await service.delete('t', undefined, Buffer.alloc(0));
        assert.deepEqual((await service.history('t', undefined)).versions, []);
      },
      { historyLimit: { maxVersions: 100, maxAgeMs: 60_000 } },
    ));

  it('listNamedShadows pages through sorted names, never the classic shadow, empty for unknown things', () =>
    withService(async ({ service }) => {
      await service.update('t', undefined, p({ state: {} }));
      for (const name of ['c', 'a', 'b', '$package', 'd']) await service.update('t', name, p({ state: {} }));
      const first = await service.listNamedShadows('t', { pageSize: 2 });
      assert.deepEqual(first.results, ['$package', 'a']);
      assert.equal(typeof first.nextToken, 'string');
      assert.equal(first.timestamp, T0_MS / 1000);
      const second = await service.listNamedShadows('t', { pageSize: 2, nextToken: first.nextToken! });
      assert.deepEqual(second.results, ['b', 'c']);
      const third = await service.listNamedShadows('t', { pageSize: 2, nextToken: second.nextToken! });
      assert.deepEqual(third, { results: ['d'], timestamp: T0_MS / 1000 });
      assert.deepEqual(await service.listNamedShadows('nobody'), { results: [], timestamp: T0_MS / 1000 });
      assert.deepEqual((await service.listNamedShadows('t')).results, ['$package', 'a', 'b', 'c', 'd'], 'default page size 25');
    }));

  it('listNamedShadows refuses a bad thing name, pageSize or nextToken with InvalidRequestException', () =>
    withService(async ({ service }) => {
      const ire = (err: unknown) => isServiceError(err, 'InvalidRequestException') && err.httpStatus === 400;
      await assert.rejects(service.listNamedShadows('a b'), ire);
      await assert.rejects(service.listNamedShadows('t', { pageSize: 0 }), ire);
      await assert.rejects(service.listNamedShadows('t', { pageSize: 101 }), ire);
      await assert.rejects(service.listNamedShadows('t', { nextToken: 'not a token' }), ire);
      const foreign = Buffer.from(JSON.stringify({ t: 'other', a: 'x' })).toString('base64');
      await assert.rejects(service.listNamedShadows('t', { nextToken: foreign }), ire);
    }));
});

describe('shadow errors for the HTTP data plane', () => {
  it('every code maps to the AWS exception of spec/shadow.md 7', () => {
    const cases: Array<[number, string, number]> = [
      [400, 'InvalidRequestException', 400],
      [401, 'UnauthorizedException', 401],
      [403, 'ForbiddenException', 403],
      [404, 'ResourceNotFoundException', 404],
      [409, 'ConflictException', 409],
      [413, 'RequestEntityTooLargeException', 413],
      [415, 'UnsupportedDocumentEncodingException', 415],
      [429, 'ThrottlingException', 429],
      [500, 'InternalFailureException', 500],
      [503, 'ServiceUnavailableException', 503],
    ];
    for (const [code, name, status] of cases) {
      const err = toServiceError({ code, message: 'm' });
      assert.equal(err.code, name);
      assert.equal(err.httpStatus, status);
      assert.equal(err.message, 'm');
    }
  });
});
