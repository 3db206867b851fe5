// Proves core's shadow wiring against a recording broker: it consumes exactly the six request filters, publishes each reply at QoS 1 without retain in order, refuses with 401 when mayAct says no or throws, and stops consuming on close after answering what it took.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { startShadows } from '../../src/core/shadow-wiring.js';
import type { ShadowActionCheck } from '../../src/core/shadow-wiring.js';
import type { ClientInfo, Consumer, Message, ServerMessage } from '../../src/mqtt/index.js';
import { openSqliteStore } from '../../src/store/index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

class RecordingBroker {
  readonly consumers = new Map<string, Consumer>();
  readonly published: ServerMessage[] = [];

  addConsumer(topicFilter: string, consumer: Consumer): () => void {
    this.consumers.set(topicFilter, consumer);
    return () => void this.consumers.delete(topicFilter);
  }

  async publish(message: ServerMessage): Promise<void> {
    this.published.push(message);
  }

  /** Delivers as the broker would to the consumer of `filter`. */
  deliver(filter: string, topic: string, payload: string, client?: ClientInfo): void {
    const consumer = this.consumers.get(filter);
    assert.ok(consumer, `no consumer on ${filter}`);
    const message: Message = { topic, payload: Buffer.from(payload), qos: 1, retain: false, createdAtMs: Date.now() };
    consumer(message, client);
  }

  async settle(count: number): Promise<void> {
    for (let i = 0; i < 200 && this.published.length < count; i++) await new Promise((r) => setTimeout(r, 5));
  }
}

async function withWiring(body: (broker: RecordingBroker) => Promise<void>, mayAct?: ShadowActionCheck): Promise<void> {
  const store = openSqliteStore({ path: ':memory:' });
  const broker = new RecordingBroker();
  const shadows = startShadows({ broker, store, logger: silent, ...(mayAct === undefined ? {} : { mayAct }) });
  try {
    await body(broker);
  } finally {
    await shadows.close();
    await store.close();
  }
}

describe('shadow wiring (core/shadow-wiring.ts)', () => {
  it('consumes the classic and named get/update/delete topics, nothing else', () =>
    withWiring(async (broker) => {
      assert.deepEqual([...broker.consumers.keys()].sort(), [
        '$aws/things/+/shadow/delete',
        '$aws/things/+/shadow/get',
        '$aws/things/+/shadow/name/+/delete',
        '$aws/things/+/shadow/name/+/get',
        '$aws/things/+/shadow/name/+/update',
        '$aws/things/+/shadow/update',
      ]);
    }));

  it('publishes accepted, delta, documents at QoS 1, not retained, in order', () =>
    withWiring(async (broker) => {
      broker.deliver('$aws/things/+/shadow/name/+/update', '$aws/things/t/shadow/name/s/update', '{"state":{"desired":{"a":1}},"clientToken":"c"}');
      await broker.settle(3);
      assert.deepEqual(
        broker.published.map((m) => [m.topic, m.qos, m.retain ?? false]),
        [
          ['$aws/things/t/shadow/name/s/update/accepted', 1, false],
          ['$aws/things/t/shadow/name/s/update/delta', 1, false],
          ['$aws/things/t/shadow/name/s/update/documents', 1, false],
        ],
      );
    }));

  it('mayAct refusing (false or a throw) answers 401 Unauthorized on …/rejected and does nothing', async () => {
    const asked: unknown[] = [];
    const mayAct: ShadowActionCheck = (client, action, thingName, shadowName) => {
      asked.push([client?.clientId, action, thingName, shadowName]);
      if (thingName === 'boom') throw new Error('policy store down');
      return thingName !== 'locked';
    };
    await withWiring(async (broker) => {
      const client = { clientId: 'dev-1' } as ClientInfo;
      broker.deliver('$aws/things/+/shadow/update', '$aws/things/locked/shadow/update', '{"state":{},"clientToken":"x"}', client);
      broker.deliver('$aws/things/+/shadow/get', '$aws/things/boom/shadow/get', '');
      broker.deliver('$aws/things/+/shadow/update', '$aws/things/open/shadow/update', '{"state":{}}', client);
      await broker.settle(4);
      const byTopic = new Map(broker.published.map((m) => [m.topic, JSON.parse(m.payload.toString()) as Record<string, unknown>]));
      const locked = byTopic.get('$aws/things/locked/shadow/update/rejected');
      assert.deepEqual([locked?.['code'], locked?.['message'], locked?.['clientToken']], [401, 'Unauthorized', 'x']);
      assert.equal(byTopic.get('$aws/things/boom/shadow/get/rejected')?.['code'], 401);
      assert.ok(byTopic.has('$aws/things/open/shadow/update/accepted'));
      assert.deepEqual(asked, [
        ['dev-1', 'update', 'locked', undefined],
        [undefined, 'get', 'boom', undefined],
        ['dev-1', 'update', 'open', undefined],
      ]);
    }, mayAct);
  });

  it('close() stops consuming and waits for the requests already taken', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const broker = new RecordingBroker();
    const shadows = startShadows({ broker, store, logger: silent });
    broker.deliver('$aws/things/+/shadow/update', '$aws/things/t/shadow/update', '{"state":{"reported":{"a":1}}}');
    await shadows.close();
    assert.equal(broker.consumers.size, 0);
    assert.ok(broker.published.some((m) => m.topic === '$aws/things/t/shadow/update/accepted'), 'the taken request was answered');
    assert.equal((await store.shadows.getShadow('t', ''))?.version, 1);
    await store.close();
  });
});
