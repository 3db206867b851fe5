// Proves that substitution templates ${expr} render as spec/iot-sql.md section 8 and vectors
// 12.5 #47-48 say: evaluated against the original message (not the SELECT output), with the
// rule's SET variables, Undefined as the empty string, and precise errors for bad templates.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isServiceError } from '../shared/index.js';
import { compileRule, compileTemplate, prepareMessage, type EvaluationContext, type RuleMatch } from './index.js';

const CTX: EvaluationContext = { timestamp: 1_700_000_000_000, clientId: 'c1' };

function match(sql: string, topic: string, payload: string, ctx: EvaluationContext = CTX): RuleMatch {
  const r = compileRule(sql, '2016-03-23').evaluate(topic, Buffer.from(payload), ctx);
  assert.ok(!(r instanceof Promise) && r.matched);
  return r;
}

function render(template: string, source: Parameters<ReturnType<typeof compileTemplate>['render']>[0], version = '2016-03-23' as const): string {
  const out = compileTemplate(template, version).render(source);
  assert.equal(typeof out, 'string');
  return out as string;
}

describe('substitution templates', () => {
  it('§12.5 #47: ${topic()}/republish with SELECT *, timestamp() AS timestamp', () => {
    const m = match("SELECT *, timestamp() AS timestamp FROM 'my/iot/topic'", 'my/iot/topic', '{"deviceid":"iot123","temp":54.98}');
    assert.equal(render('${topic()}/republish', m), 'my/iot/topic/republish');
    assert.deepStrictEqual(m.output, { deviceid: 'iot123', temp: 54.98, timestamp: 1_700_000_000_000 });
  });

  it('§12.5 #48: templates see the original payload, not the aliases', () => {
    const m = match("SELECT temp AS t FROM 'my/iot/topic'", 'my/iot/topic', '{"deviceid":"iot123","temp":54.98}');
    assert.equal(render('${temp}/x', m), '54.98/x');
    assert.equal(render('${t}/x', m), '/x');
  });

  it('§8 renders strings raw, numbers as text, objects as JSON, Null as null, Undefined as empty', () => {
    const msg = prepareMessage('a/b', Buffer.from('{"s":"x y","n":-1.5,"o":{"k":[1,true]},"z":null,"b":false}'), CTX);
    assert.equal(render('[${s}|${n}|${o}|${z}|${missing}|${b}]', msg), '[x y|-1.5|{"k":[1,true]}||false]'.replace('||', '|null||'));
  });

  it('§8 error-action key example: replace(topic()) + timestamp() + newuuid()', () => {
    const msg = prepareMessage('a/b', Buffer.from('{}'), CTX);
    const key = render("${replace(topic(), '/', '-') + '-' + timestamp() + '-' + newuuid()}", msg);
    assert.match(key, /^a-b-1700000000000-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('§6 sees the SET variables of the rule that matched', () => {
    const m = match("SET @v = temp * 2 SELECT temp FROM 't'", 't', '{"temp":21}');
    assert.equal(render('v=${@v}', m), 'v=42');
    assert.equal(render('v=${@v}', m.message), 'v=', 'a bare message has no variables');
  });

  it('finds the closing brace with the lexer: braces inside strings and object literals', () => {
    const msg = prepareMessage('t', Buffer.from('{"a":1}'), CTX);
    assert.equal(render("${concat('a}', 'b')}-${get({'k': a}, 'k')}", msg), 'a}b-1');
  });

  it('keeps text without ${ as it is, $ alone included', () => {
    const t = compileTemplate('price $5 and $$aws/things', '2016-03-23');
    assert.equal(t.isConstant, true);
    assert.equal(t.render(prepareMessage('t', Buffer.alloc(0), CTX)), 'price $5 and $$aws/things');
  });

  it('2015-10-08 templates print whole-number Decimals with .0', () => {
    const msg = prepareMessage('t', Buffer.from('{"v":5.0}'), CTX);
    assert.equal(render('${v}', msg, '2015-10-08' as '2016-03-23'), '5.0');
  });

  it('renders asynchronously when an expression calls an external function', async () => {
    const ctx: EvaluationContext = { ...CTX, getThingShadow: async (thing) => ({ state: { reported: { on: thing === 'lamp' } } }) };
    const t = compileTemplate("${get_thing_shadow(topic(2), 'arn:aws:iam::123456789012:role/r').state.reported.on}", '2016-03-23');
    assert.equal(t.isAsync, true);
    const out = t.render(prepareMessage('things/lamp', Buffer.from('{}'), ctx));
    assert.ok(out instanceof Promise);
    assert.equal(await out, 'true');
  });

  describe('bad templates (SqlParseException with the position in the template)', () => {
    const cases: [string, RegExp, { allowExternalFunctions?: boolean }?][] = [
      ['x/${a >}', /^Substitution template, line 1, column 8: expected an expression after '>' but found '}'$/],
      ['x/${topic()', /^Substitution template, line 1, column 3: '\$\{' is never closed with '\}'$/],
      ['${}', /the substitution template \$\{\} is empty/],
      ['${topic() topic()}', /expected an operator or '}' closing the substitution template but found 'topic'/],
      ['${nosuch(1)}', /unknown function 'nosuch'/],
      ["${aws_lambda('arn:aws:lambda:us-east-1:1:function:f', *)}", /aws_lambda\(\) calls another service and cannot be used here/, { allowExternalFunctions: false }],
      ["${get_dynamodb('t', 'k', 'v', 'arn')}", /get_dynamodb\(\) calls another service/, { allowExternalFunctions: false }],
    ];
    for (const [template, message, options] of cases) {
      it(template, () => {
        assert.throws(
          () => compileTemplate(template, '2016-03-23', options),
          (e: unknown) => isServiceError(e, 'SqlParseException') && message.test(e.message),
        );
      });
    }

    it('names the template when a label is given', () => {
      assert.throws(
        () => compileTemplate('${a >}', '2016-03-23', { label: 'republish.topic' }),
        (e: unknown) => isServiceError(e, 'SqlParseException') && e.message.startsWith('Substitution template republish.topic, line 1, column 6:'),
      );
    });
  });
});
