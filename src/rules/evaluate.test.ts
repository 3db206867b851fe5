// Proves the evaluator's contract beyond single vectors: synchronous unless an external function
// is used, external functions through EvaluationContext hooks (get_thing_shadow, aws_lambda), the
// dry run's explanations of a non-match, shared message preparation, and Basic Ingest topics.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  compileRule,
  parseBasicIngestTopic,
  prepareMessage,
  type EvaluationContext,
  type NoMatchReason,
  type RuleEvaluation,
} from './index.js';

const CTX: EvaluationContext = { timestamp: 1_700_000_000_000, clientId: 'c1' };
const ROLE = 'arn:aws:iam::123456789012:role/rules';

function syncEval(sql: string, topic: string, payload: unknown, explain = false): RuleEvaluation {
  const r = compileRule(sql, '2016-03-23').evaluate(topic, Buffer.from(JSON.stringify(payload)), CTX, { explain });
  assert.ok(!(r instanceof Promise));
  return r;
}

function reasonOf(r: RuleEvaluation): NoMatchReason {
  assert.equal(r.matched, false);
  assert.ok(!r.matched && r.reason !== undefined, 'explain mode gives a reason');
  return r.reason;
}

describe('synchronous fast path', () => {
  it('a rule without external functions is not async and never returns a Promise', () => {
    const rule = compileRule("SELECT a FROM 't' WHERE a > 1", '2016-03-23');
    assert.equal(rule.isAsync, false);
    assert.equal(rule.fromFilter, 't');
    assert.ok(!(rule.evaluate('t', Buffer.from('{"a":2}'), CTX) instanceof Promise));
  });

  it('a non-match without explain is a shared constant (no allocation, no reason)', () => {
    const rule = compileRule("SELECT a FROM 't' WHERE a > 1", '2016-03-23');
    const a = rule.evaluate('t', Buffer.from('{"a":0}'), CTX);
    const b = rule.evaluate('t', Buffer.from('{"a":-1}'), CTX);
    assert.equal(a, b);
    assert.deepEqual(a, { matched: false, clause: 'WHERE' });
    assert.equal(rule.evaluate('u', Buffer.from('{}'), CTX), rule.evaluate('v', Buffer.from('{}'), CTX));
  });

  it('rules sharing a prepared message share one parsed payload', () => {
    const msg = prepareMessage('t', Buffer.from('{"a":1}'), CTX);
    const r1 = compileRule("SELECT * FROM 't'", '2016-03-23').evaluateMessage(msg);
    const r2 = compileRule("SELECT * FROM 't' WHERE a = 1", '2016-03-23').evaluateMessage(msg);
    assert.ok(!(r1 instanceof Promise) && r1.matched && !(r2 instanceof Promise) && r2.matched);
    assert.equal(r1.output, r2.output);
  });

  it('payload() is computed once', () => {
    const r = syncEval("SELECT a FROM 't'", 't', { a: 1 });
    assert.ok(r.matched);
    assert.equal(r.payload(), r.payload());
    assert.equal(r.payload().toString(), '{"a":1}');
    assert.equal(r.isJson, true);
  });
});

describe('external functions through EvaluationContext hooks', () => {
  it('get_thing_shadow(thing, roleArn) makes the rule async and reads the hook', async () => {
    const calls: unknown[][] = [];
    const ctx: EvaluationContext = {
      ...CTX,
      getThingShadow: async (thing, shadow, role) => {
        calls.push([thing, shadow, role]);
        return { state: { reported: { alarm: true } }, version: 3 };
      },
    };
    const rule = compileRule(`SELECT get_thing_shadow(topic(2), '${ROLE}').state.reported.alarm AS alarm FROM 'things/+/check'`, '2016-03-23');
    assert.equal(rule.isAsync, true);
    const pending = rule.evaluate('things/lamp/check', Buffer.from('{}'), ctx);
    assert.ok(pending instanceof Promise);
    const r = await pending;
    assert.ok(r.matched);
    assert.deepStrictEqual(r.output, { alarm: true });
    assert.deepEqual(calls, [['lamp', undefined, ROLE]]);
  });

  it('get_thing_shadow(thing, shadowName, roleArn) passes the named shadow', async () => {
    let seen: string | undefined;
    const ctx: EvaluationContext = { ...CTX, getThingShadow: async (_t, shadow) => { seen = shadow; return { state: {} }; } };
    const r = await compileRule(`SELECT VALUE get_thing_shadow('lamp', 'config', '${ROLE}') FROM 't'`, '2016-03-23').evaluate('t', Buffer.from('{}'), ctx);
    assert.ok(r.matched);
    assert.equal(seen, 'config');
    assert.deepStrictEqual(r.output, { state: {} });
  });

  it('aws_lambda(arn, payload) sends plain data and uses the answer; used in SET and WHERE', async () => {
    const sent: unknown[] = [];
    const ctx: EvaluationContext = {
      ...CTX,
      invokeLambda: async (arn, payload) => {
        sent.push([arn, payload]);
        return { ok: true, score: 0.5 };
      },
    };
    const sql = "SET @r = aws_lambda('arn:aws:lambda:us-east-1:123456789012:function:score', {'payload': *, 'n': 5.0}) SELECT @r.score AS score, temp FROM 't' WHERE @r.ok";
    const r = await compileRule(sql, '2016-03-23').evaluate('t', Buffer.from('{"temp":20}'), ctx);
    assert.ok(r.matched);
    assert.deepStrictEqual(r.output, { score: 0.5, temp: 20 });
    assert.deepStrictEqual(sent, [['arn:aws:lambda:us-east-1:123456789012:function:score', { payload: { temp: 20 }, n: 5 }]]);
  });

  it('AND does not call the external function when its left side is already false', async () => {
    let called = 0;
    const ctx: EvaluationContext = { ...CTX, invokeLambda: async () => { called++; return true; } };
    const rule = compileRule("SELECT * FROM 't' WHERE temp > 100 AND aws_lambda('arn:aws:lambda:us-east-1:1:function:f', *)", '2016-03-23');
    const r = await rule.evaluate('t', Buffer.from('{"temp":1}'), ctx);
    assert.equal(r.matched, false);
    assert.equal(called, 0);
  });

  it('without a hook the external function is Undefined', async () => {
    const r = await compileRule(`SELECT get_thing_shadow('x', '${ROLE}') AS s, 1 AS one FROM 't'`, '2016-03-23').evaluate('t', Buffer.from('{}'), CTX);
    assert.ok(r.matched);
    assert.deepStrictEqual(r.output, { one: 1 });
  });

  it('a failing hook rejects the evaluation (the engine then runs the error action)', async () => {
    const ctx: EvaluationContext = { ...CTX, invokeLambda: async () => { throw new Error('Lambda timed out'); } };
    await assert.rejects(
      async () => compileRule("SELECT aws_lambda('arn:aws:lambda:us-east-1:1:function:f', *) AS a FROM 't'", '2016-03-23').evaluate('t', Buffer.from('{}'), ctx),
      /Lambda timed out/,
    );
  });
});

describe('explain mode (dry run)', () => {
  const SQL = "SELECT color FROM 'topic/subtopic' WHERE temperature > 50 AND color <> 'red'";

  it('AND false: blames the first false term with its operand values', () => {
    const reason = reasonOf(syncEval(SQL, 'topic/subtopic', { color: 'red', temperature: 40 }, true));
    assert.equal(reason.clause, 'WHERE');
    assert.ok(reason.clause === 'WHERE');
    assert.equal(reason.value, 'false');
    assert.equal(reason.message, 'WHERE is false: temperature > 50 is false (temperature = 40)');
    assert.deepEqual(reason.terms, [{ sql: 'temperature > 50', line: 1, column: 42, value: 'false', operands: [{ sql: 'temperature', value: '40' }] }]);
  });

  it('AND false on the right side', () => {
    const reason = reasonOf(syncEval(SQL, 'topic/subtopic', { color: 'red', temperature: 60 }, true));
    assert.equal(reason.message, `WHERE is false: color <> 'red' is false (color = "red")`);
  });

  it('Undefined: names the missing attribute', () => {
    const reason = reasonOf(syncEval(SQL, 'topic/subtopic', { color: 'blue' }, true));
    assert.equal(reason.message, 'WHERE is Undefined: temperature > 50 is Undefined (temperature = Undefined)');
  });

  it('OR false: blames both sides; NOT is seen through', () => {
    const reason = reasonOf(syncEval("SELECT * FROM 't' WHERE a = 1 OR NOT b", 't', { a: 2, b: true }, true));
    assert.equal(reason.message, 'WHERE is false: a = 1 is false (a = 2); b is true');
  });

  it('a WHERE that is not a Boolean', () => {
    const reason = reasonOf(syncEval("SELECT * FROM 't' WHERE upper(name)", 't', { name: 'x' }, true));
    assert.equal(reason.message, 'WHERE is "X", not Boolean true: upper(name) is "X" (name = "x")');
  });

  it('FROM: the topic does not match the filter', () => {
    const reason = reasonOf(syncEval(SQL, 'other/topic', {}, true));
    assert.deepEqual(reason, { clause: 'FROM', message: "the topic 'other/topic' does not match the FROM topic filter 'topic/subtopic'" });
  });

  it('FROM: a statement without FROM runs only through Basic Ingest', () => {
    const reason = reasonOf(syncEval('SELECT *', 'a/b', {}, true));
    assert.match(reason.message, /no FROM clause.*Basic Ingest/);
  });

  it('a matching message matches the same way in explain mode', () => {
    const r = syncEval(SQL, 'topic/subtopic', { color: 'blue', temperature: 60 }, true);
    assert.ok(r.matched);
    assert.deepStrictEqual(r.output, { color: 'blue' });
  });

  it('works for asynchronous rules too', async () => {
    const ctx: EvaluationContext = { ...CTX, invokeLambda: async () => ({ ok: false }) };
    const r = await compileRule("SELECT * FROM 't' WHERE aws_lambda('arn:aws:lambda:us-east-1:1:function:f', *).ok", '2016-03-23').evaluate('t', Buffer.from('{}'), ctx, { explain: true });
    assert.equal(r.matched, false);
    assert.ok(!r.matched && r.reason?.clause === 'WHERE');
    assert.match(r.reason.message, /^WHERE is false/);
  });
});

describe('Basic Ingest topics', () => {
  it('§12.5 #46 splits $aws/rules/<ruleName>/<rest>', () => {
    assert.deepEqual(parseBasicIngestTopic('$aws/rules/BuildingManager/Buildings/Building5/Floor2/Room201/Lights'), {
      ruleName: 'BuildingManager',
      topic: 'Buildings/Building5/Floor2/Room201/Lights',
    });
    assert.equal(parseBasicIngestTopic('$aws/things/x/shadow/update'), undefined);
    assert.equal(parseBasicIngestTopic('$aws/rules/bad-name/x'), undefined);
  });
});

describe('FROM topic filters (spec section 1, MQTT matching)', () => {
  const cases: [string, string, boolean][] = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a//c', true],
    ['a/+', 'a/', true],
    ['a/+', 'a', false],
    ['a/#', 'a/b/c/d', true],
    ['a/#', 'a/', true],
    ['a/#', 'a', false],
    ['#', 'x/y', true],
    ['#', '$aws/things/x', false],
    ['+/+', '$SYS/x', false],
    ['$aws/things/+/shadow/update/documents', '$aws/things/t1/shadow/update/documents', true],
    ['+/b', 'ab', false],
    ['a/b/+', 'a/bb/c', false],
  ];
  for (const [filter, topic, expected] of cases) {
    it(`'${filter}' ${expected ? 'matches' : 'does not match'} '${topic}'`, () => {
      assert.equal(compileRule(`SELECT * FROM '${filter}'`, '2016-03-23').matchesTopic(topic), expected);
    });
  }
});

describe('SELECT of plain keys (generated builder)', () => {
  it('keeps the SELECT order, drops Undefined, and treats keys named like Object members as plain keys', () => {
    const r = syncEval("SELECT b AS constructor, missing AS gone, a AS toString, a AS hasOwnProperty, topic(1) AS t FROM 't/x'", 't/x', { a: 1, b: 'two' });
    assert.ok(r.matched);
    const out = JSON.parse(r.payload().toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['constructor', 'toString', 'hasOwnProperty', 't']);
    assert.deepEqual(out, { constructor: 'two', toString: 1, hasOwnProperty: 1, t: 't' });
  });

  it('a SELECT longer than the generated form still builds the same object', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const r = syncEval(`SELECT ${keys.map((k) => `a AS ${k}`).join(', ')} FROM 't'`, 't', { a: 5 });
    assert.ok(r.matched);
    assert.deepEqual(JSON.parse(r.payload().toString()), Object.fromEntries(keys.map((k) => [k, 5])));
  });
});
