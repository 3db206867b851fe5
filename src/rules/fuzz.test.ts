// Proves that the IoT SQL front end and evaluator are total: any text either compiles or fails
// with SqlParseException (never another exception), and a compiled rule evaluates any payload
// without throwing (wrong types are Undefined, not errors). Deterministic (seeded) and short.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isServiceError } from '../shared/index.js';
import { compileRule, compileTemplate, prepareMessage, type CompiledRule } from './index.js';

/** mulberry32: a small seeded PRNG, so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  'SELECT', 'VALUE', '*', ',', 'FROM', "'t'", "'a/+/#'", 'WHERE', 'AND', 'OR', 'NOT', 'IN', 'AS', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END',
  'SET', '@v', '=', '<>', '<', '<=', '>', '>=', '+', '-', '/', '%', '(', ')', '[', ']', '{', '}', ':', '.', 'a', 'b', 'value',
  'temperature', '1', '2.5', '-3', '1e3', "'x'", '"y"', 'true', 'NULL', 'upper(', 'concat(', 'get(', 'topic(', 'cast(', 'abs(',
  'substring(', 'isNull(', 'regexp_replace(', 'decode(', 'encode(', 'transform(', 'parse_time(', 'Int', 'String', "'base64'",
  '!', '$', '#', '`', ';', '--', '\n',
];

const SEEDS = [
  "SELECT color AS rgb FROM 'topic/subtopic' WHERE temperature > 50",
  "SELECT *, topic(1) AS deviceId FROM '+/+/+/req'",
  "SELECT (SELECT v FROM e WHERE n = 'temperature') AS t FROM 'my/topic'",
  "SELECT CASE color WHEN 'red' THEN 'stop' ELSE 'go' END AS i FROM 't'",
  "SET @a = x * 2 SELECT VALUE {'a': @a, 'b': [1, get(arr, 0)]} FROM 't' WHERE @a IN arr",
];

const PAYLOADS = [
  '{}',
  '{"color":"red","temperature":60,"a":1,"b":"2","value":[1,{"x":null}],"e":[{"n":"temperature","v":1},{"n":2}],"arr":[2,4]}',
  '{"temperature":"hot","a":{"b":{"c":true}},"x":1e308,"arr":"nope"}',
  '[1,2,3]',
  '80',
  '\u0000\u00ff binary',
];

function compileOrParseError(sql: string): CompiledRule | undefined {
  try {
    return compileRule(sql, '2016-03-23');
  } catch (e: unknown) {
    assert.ok(isServiceError(e, 'SqlParseException'), `${JSON.stringify(sql)} threw ${String(e)}`);
    assert.match(e.message, /line \d+, column \d+/i);
    return undefined;
  }
}

function evaluateAll(rule: CompiledRule, sql: string): void {
  for (const p of PAYLOADS) {
    for (const topic of ['t', 'a/b/c']) {
      const r = rule.evaluate(topic, Buffer.from(p), { timestamp: 1, basicIngest: true }, { explain: true });
      assert.ok(!(r instanceof Promise), sql);
      if (r.matched) {
        assert.ok(Buffer.isBuffer(r.payload()), sql);
        void r.output;
      }
    }
  }
}

describe('IoT SQL fuzzing', () => {
  it('random token sequences compile or fail with SqlParseException, and compiled ones evaluate', () => {
    const next = rng(20240611);
    let compiled = 0;
    for (let i = 0; i < 3000; i++) {
      const n = 1 + Math.floor(next() * 14);
      const parts = ['SELECT'];
      for (let k = 0; k < n; k++) parts.push(TOKENS[Math.floor(next() * TOKENS.length)] ?? '');
      const sql = parts.join(next() < 0.8 ? ' ' : '');
      const rule = compileOrParseError(sql);
      if (rule !== undefined) {
        compiled++;
        evaluateAll(rule, sql);
      }
    }
    assert.ok(compiled > 50, `only ${compiled} random statements compiled`);
  });

  it('mutations of valid statements compile or fail with SqlParseException', () => {
    const next = rng(7);
    const alphabet = " '\"(),.*+-/%<>=@[]{}:aZ09_$#!;\n";
    for (const seed of SEEDS) {
      for (let i = 0; i < 400; i++) {
        let sql = seed;
        const edits = 1 + Math.floor(next() * 3);
        for (let k = 0; k < edits; k++) {
          const at = Math.floor(next() * (sql.length + 1));
          const r = next();
          if (r < 0.4) sql = sql.slice(0, at) + sql.slice(at + 1);
          else if (r < 0.8) sql = sql.slice(0, at) + (alphabet[Math.floor(next() * alphabet.length)] ?? '') + sql.slice(at);
          else sql = sql.slice(0, at);
        }
        const rule = compileOrParseError(sql);
        if (rule !== undefined) evaluateAll(rule, sql);
      }
    }
  });

  it('templates: random text compiles or fails with SqlParseException', () => {
    const next = rng(99);
    const pieces = ['${', '}', 'topic()', 'a', "'x}'", '+', '$', 'text/', '${a', '(', ')', '@v', '{', "'", '"'];
    const msg = prepareMessage('a/b', Buffer.from('{"a":1}'), { timestamp: 1 });
    for (let i = 0; i < 1500; i++) {
      const n = 1 + Math.floor(next() * 8);
      let text = '';
      for (let k = 0; k < n; k++) text += pieces[Math.floor(next() * pieces.length)] ?? '';
      try {
        const t = compileTemplate(text, '2016-03-23');
        assert.equal(typeof t.render(msg), 'string');
      } catch (e: unknown) {
        assert.ok(isServiceError(e, 'SqlParseException'), `${JSON.stringify(text)} threw ${String(e)}`);
      }
    }
  });
});
