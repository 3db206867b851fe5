// Proves the rule engine's own guarantees with stand-in actions: FROM filters matched as rules match them (one trie), an action that never settles times out and reaches the errorAction, a failing external call in the SQL also does, too many executions in progress are refused rather than queued, a replaced rule's actions close only after its executions settle, and close() waits for them.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ActionFailure, compileRule, RuleEngine, TopicIndex } from '../../src/rules/index.js';
import type { ActionInput, ActiveRule, IncomingMessage, Publisher, RuleAction } from '../../src/rules/index.js';

const quiet = { info() {}, warn() {}, error() {} };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function message(topic: string, payload: string | object = {}): IncomingMessage {
  return { topic, payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)) };
}

const publisher: Publisher = { clientId: 'c1', principal: { kind: 'certificate', id: 'abc' }, peer: { remoteAddress: '127.0.0.1' } };

/** An action that records its inputs and settles as told. */
class StandIn implements RuleAction {
  readonly inputs: ActionInput[] = [];
  closed = false;
  readonly pending: Array<() => void> = [];

  constructor(
    readonly type: string,
    private readonly behaviour: 'ok' | 'fail' | 'hang' | 'manual' = 'ok',
  ) {}

  execute(input: ActionInput): Promise<void> {
    this.inputs.push(input);
    if (this.behaviour === 'ok') return Promise.resolve();
    if (this.behaviour === 'fail') return Promise.reject(new ActionFailure('HttpAction', 'https://example.invalid/x', 'connection refused'));
    if (this.behaviour === 'hang') return new Promise(() => undefined);
    return new Promise((resolve) => this.pending.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function engine(options: Partial<ConstructorParameters<typeof RuleEngine>[0]> = {}): { engine: RuleEngine; filters: string[] } {
  const filters: string[] = [];
  const e = new RuleEngine({
    logger: quiet,
    subscribe: (f) => {
      filters.push(f);
      return () => filters.splice(filters.indexOf(f), 1);
    },
    metricsLogIntervalMs: 0,
    ...options,
  });
  return { engine: e, filters };
}

function rule(ruleName: string, sql: string, actions: RuleAction[], errorAction?: RuleAction, version = '2016-03-23'): ActiveRule {
  return { ruleName, compiled: compileRule(sql, version), enabled: true, actions, ...(errorAction === undefined ? {} : { errorAction }) };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('rule engine guarantees (stand-in actions)', () => {
  it('TopicIndex: + one level, # one or more, no wildcard first level on $ topics, exact filters', () => {
    const index = new TopicIndex<string>();
    for (const f of ['a/+', 'a/#', '#', '+/b', 'a/b', '$aws/things/+/shadow/update', '$aws/#']) index.add(f, f);
    const m = (t: string): string[] => [...index.match(t)].sort();
    assert.deepEqual(m('a/b'), ['#', '+/b', 'a/#', 'a/+', 'a/b']);
    assert.deepEqual(m('a'), ['#'], "'a/#' does not match 'a' (AWS)");
    assert.deepEqual(m('a/b/c'), ['#', 'a/#']);
    assert.deepEqual(m('$aws/things/t1/shadow/update'), ['$aws/#', '$aws/things/+/shadow/update']);
    assert.deepEqual(m('$SYS/x'), []);
    assert.equal(index.remove('a/#', 'a/#'), true);
    assert.equal(index.remove('a/#', 'a/#'), false);
    assert.deepEqual(m('a/b/c'), ['#']);
    assert.equal(index.size, 6);
  });

  it('registers one broker filter per distinct FROM of the enabled rules, plus $aws/rules/#', async () => {
    const { engine: e, filters } = engine();
    e.put(rule('r1', "SELECT * FROM 'x/+'", []));
    e.put(rule('r2', "SELECT * FROM 'x/+'", []));
    e.put({ ...rule('r3', "SELECT * FROM 'y'", []), enabled: false });
    assert.deepEqual([...filters].sort(), ['$aws/rules/#', 'x/+']);
    e.setEnabled('r3', true);
    e.remove('r1');
    assert.deepEqual([...filters].sort(), ['$aws/rules/#', 'x/+', 'y']);
    e.remove('r2');
    assert.deepEqual([...filters].sort(), ['$aws/rules/#', 'y']);
    await e.close();
    assert.deepEqual(filters, []);
  });

  it('an action that never settles times out, counts as failed, and the errorAction gets the AWS failure record', async () => {
    const { engine: e } = engine({ actionTimeoutMs: 150 });
    const hang = new StandIn('http', 'hang');
    const fine = new StandIn('republish');
    const onError = new StandIn('republish');
    e.put(rule('slow', "SELECT v FROM 'slow/+'", [fine, hang], onError));
    e.consume(message('slow/1', { v: 1 }), publisher);
    await until(() => onError.inputs.length === 1);
    const input = onError.inputs[0]!;
    const doc = input.match.output as Record<string, unknown>;
    assert.equal(doc['ruleName'], 'slow');
    assert.equal(doc['topic'], 'slow/1');
    assert.equal(doc['clientId'], 'c1');
    assert.equal(Buffer.from(String(doc['base64OriginalPayload']), 'base64').toString(), '{"v":1}');
    assert.deepEqual(doc['failures'], [{ failedAction: 'HttpAction', failedResource: '', errorMessage: 'http action timed out after 150 ms' }]);
    assert.equal(input.topic, 'slow/1', 'the error action renders against the original message');
    assert.equal(input.principal, 'abc');
    const m = e.metrics('slow');
    assert.equal(m?.actions[1]?.timedOut, 1);
    assert.equal(m?.actions[1]?.failed, 1);
    assert.equal(m?.actions[0]?.succeeded, 1);
    assert.equal(m?.errorAction?.succeeded, 1);
    assert.equal(e.stats().inFlight, 0);
    await e.close();
  });

  it("an ActionFailure's action name and resource are what the error payload says", async () => {
    const { engine: e } = engine();
    const onError = new StandIn('republish');
    e.put(rule('failing', "SELECT * FROM 'f'", [new StandIn('http', 'fail')], onError));
    e.consume(message('f', 'raw bytes'));
    await until(() => onError.inputs.length === 1);
    assert.deepEqual((onError.inputs[0]!.match.output as Record<string, unknown>)['failures'], [
      { failedAction: 'HttpAction', failedResource: 'https://example.invalid/x', errorMessage: 'connection refused' },
    ]);
    await e.close();
  });

  it('a failing external call in the SQL is an evaluation error that also reaches the errorAction', async () => {
    const { engine: e } = engine({ hooks: { getThingShadow: () => Promise.reject(new Error('store down')) } });
    const action = new StandIn('republish');
    const onError = new StandIn('republish');
    e.put(rule('shadowed', "SELECT get_thing_shadow('t', 'arn:aws:iam::1:role/r') AS s FROM 'g'", [action], onError));
    e.consume(message('g'));
    await until(() => onError.inputs.length === 1);
    assert.equal(action.inputs.length, 0);
    const failures = (onError.inputs[0]!.match.output as Record<string, unknown>)['failures'] as Array<Record<string, string>>;
    assert.equal(failures[0]?.['failedAction'], 'RuleEvaluation');
    assert.match(failures[0]?.['errorMessage'] ?? '', /store down/);
    assert.equal(e.metrics('shadowed')?.evaluationErrors, 1);
    await e.close();
  });

  it('beyond maxInFlight an action is refused (throttled), not queued', async () => {
    const { engine: e } = engine({ maxInFlight: 2 });
    const manual = new StandIn('lambda', 'manual');
    e.put(rule('busy', "SELECT * FROM 'b'", [manual]));
    for (let i = 0; i < 3; i++) e.consume(message('b'));
    await until(() => (e.metrics('busy')?.actions[0]?.throttled ?? 0) === 1);
    assert.equal(manual.inputs.length, 2);
    assert.equal(e.stats().throttled, 1);
    for (const resolve of manual.pending) resolve();
    await until(() => e.stats().inFlight === 0);
    assert.equal(e.metrics('busy')?.actions[0]?.succeeded, 2);
    await e.close();
  });

  it("a replaced rule's actions close once its executions have settled; close() waits for executions", async () => {
    const { engine: e } = engine();
    const old = new StandIn('lambda', 'manual');
    e.put(rule('r', "SELECT * FROM 'r'", [old]));
    e.consume(message('r'));
    await until(() => old.inputs.length === 1);
    const replacement = new StandIn('lambda', 'manual');
    e.put(rule('r', "SELECT * FROM 'r'", [replacement]));
    await sleep(20);
    assert.equal(old.closed, false, 'still running');
    old.pending[0]!();
    await until(() => old.closed);

    e.consume(message('r'));
    await until(() => replacement.inputs.length === 1);
    let closed = false;
    const closing = e.close(5000).then(() => (closed = true));
    await sleep(30);
    assert.equal(closed, false, 'close waits for the execution in progress');
    replacement.pending[0]!();
    await closing;
    assert.equal(replacement.closed, true);
  });
});
