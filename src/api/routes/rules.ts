/**
 * rules' routes (spec/http-api.md 3.6 topic rules): the wire in and out, nothing else. The rule
 * service validates everything (name, payload members, SQL → SqlParseException, actions →
 * InvalidRequestException naming the field or the supported types); handlers pass the request body
 * on as the TopicRulePayload (CreateTopicRule and ReplaceTopicRule send it unwrapped), the
 * `x-amz-tagging` header as the tags, and shape the answers: timestamps as epoch seconds, absent
 * optional members left out.
 *
 * Thingcore extensions, not AWS operations:
 *
 *   GET  /rules/{ruleName}/metrics
 *   → {"ruleName", "enabled", "since", "evaluated", "matched", "evaluationErrors", "droppedHops",
 *      "executed", "succeeded", "failed", "lastError"?, "lastErrorAt"?,
 *      "actions": [{"index", "type", "executed", "succeeded", "failed", "timedOut", "throttled", "lastError"?, "lastErrorAt"?}],
 *      "errorAction"?: {...same, without index}}                      (times in epoch seconds)
 *
 *   GET  /rule-engine/metrics
 *   → {"rules", "enabledRules", "topicFilters", "messages", "ruleNotFound", "droppedHops", "throttled", "inFlight"}
 *
 *   POST /rules/test  or  POST /test-topic-rule     (the dry run: nothing is stored, no action runs)
 *   {"sql": "SELECT ...", "awsIotSqlVersion"?: "2016-03-23",   -- or "ruleName": a stored rule's SQL and version
 *    "topic": "sensors/a", "payload": "{\"temp\": 60}" | {"temp": 60}, "payloadBase64"?: true, "clientId"?: "c1"}
 *   → {"matched": true, "output": {...}, "outputEncoding"?: "base64", "warnings"?: [...]}
 *   | {"matched": false, "reason": {"clause": "FROM" | "WHERE", "message": "...", "value"?, "terms"?: [...]}}
 *
 * `payload` is the message text (a JSON value other than a string is sent as its JSON text), or
 * base64 of the bytes with `"payloadBase64": true`. A topic `$aws/rules/<rule>/...` is tried as
 * Basic Ingest (FROM not consulted). `POST /rules/test` is also CreateTopicRule's path for a rule named
 * `test`: a body with `actions` (every TopicRulePayload has them) or without a `topic` is that;
 * `/test-topic-rule` is the unambiguous spelling the CLI uses.
 */
// Not '../index.js': api/index.ts re-exports this module, and importing the files directly (as
// things.ts does) keeps the module graph free of a cycle.
import { defineRoutes } from '../routing.js';
import type { RouteModule } from '../routing.js';
import { isPlainObject, jsonBody } from '../body.js';
import { epochSeconds } from '../time.js';
import { AwsErrors } from '../../shared/index.js';
import type { RuleService } from '../../rules/index.js';

export function ruleRoutes(rules: RuleService): RouteModule {
  return defineRoutes('rules', (r) => {
    r.post(
      '/rules/:ruleName',
      async (req) => {
        // The path for the dry run. A TopicRulePayload always has `actions`; a dry run
        // never does and names a `topic`: so a rule called `test` can still be created here.
        if (req.params.ruleName === 'test' && isDryRunBody(req.body)) return testTopicRule(rules, req.body);
        const tags = req.headers.string('x-amz-tagging');
        await rules.createTopicRule({ ruleName: req.params.ruleName, topicRulePayload: req.body, ...(tags === undefined ? {} : { tags }) });
        return undefined;
      },
      { operation: 'CreateTopicRule' },
    );

    r.get(
      '/rules/:ruleName',
      async (req) => {
        const { ruleArn, rule } = await rules.getTopicRule(req.params.ruleName);
        return { ruleArn, rule: { ...rule, createdAt: epochSeconds(rule.createdAt) } };
      },
      { operation: 'GetTopicRule' },
    );

    r.get(
      '/rules',
      async (req) => {
        const q = req.query;
        const topic = q.string('topic');
        const maxResults = q.int('maxResults');
        const nextToken = q.string('nextToken');
        const ruleDisabled = q.bool('ruleDisabled');
        const out = await rules.listTopicRules({
          ...(topic === undefined ? {} : { topic }),
          ...(maxResults === undefined ? {} : { maxResults }),
          ...(nextToken === undefined ? {} : { nextToken }),
          ...(ruleDisabled === undefined ? {} : { ruleDisabled }),
        });
        return { rules: out.rules.map((x) => ({ ...x, createdAt: epochSeconds(x.createdAt) })), nextToken: out.nextToken };
      },
      { operation: 'ListTopicRules' },
    );

    r.patch(
      '/rules/:ruleName',
      async (req) => {
        await rules.replaceTopicRule({ ruleName: req.params.ruleName, topicRulePayload: req.body });
        return undefined;
      },
      { operation: 'ReplaceTopicRule' },
    );

    r.delete(
      '/rules/:ruleName',
      async (req) => {
        await rules.deleteTopicRule(req.params.ruleName);
        return undefined;
      },
      { operation: 'DeleteTopicRule' },
    );

    r.post(
      '/rules/:ruleName/enable',
      async (req) => {
        await rules.enableTopicRule(req.params.ruleName);
        return undefined;
      },
      { operation: 'EnableTopicRule' },
    );

    r.post(
      '/rules/:ruleName/disable',
      async (req) => {
        await rules.disableTopicRule(req.params.ruleName);
        return undefined;
      },
      { operation: 'DisableTopicRule' },
    );

    r.get('/rules/:ruleName/metrics', (req) => rules.getTopicRuleMetrics(req.params.ruleName), { operation: 'GetTopicRuleMetrics' });

    r.get('/rule-engine/metrics', () => rules.engineMetrics(), { operation: 'GetRuleEngineMetrics' });

    r.post('/test-topic-rule', (req) => testTopicRule(rules, req.body), { operation: 'TestTopicRule' });
  });
}

function isDryRunBody(body: unknown): boolean {
  return isPlainObject(body) && !('actions' in body) && typeof body['topic'] === 'string';
}

/** The dry run (POST /test-topic-rule, and POST /rules/test with a dry-run body). */
function testTopicRule(rules: RuleService, rawBody: unknown): ReturnType<RuleService['testTopicRule']> {
  const body = jsonBody({ body: rawBody });
  const sql = body.string('sql');
  const ruleName = body.string('ruleName');
  const awsIotSqlVersion = body.string('awsIotSqlVersion');
  const clientId = body.string('clientId');
  const raw = body.unknown('payload');
  const base64 = body.bool('payloadBase64') === true;
  let payload: Buffer;
  if (raw === undefined || raw === null) payload = Buffer.alloc(0);
  else if (typeof raw === 'string') payload = Buffer.from(raw, base64 ? 'base64' : 'utf8');
  else if (base64) throw AwsErrors.invalidRequest("Invalid value for 'payload': with payloadBase64 it must be a base64 string");
  else payload = Buffer.from(JSON.stringify(raw), 'utf8');
  return rules.testTopicRule({
    topic: body.requiredString('topic'),
    payload,
    ...(sql === undefined ? {} : { sql }),
    ...(ruleName === undefined ? {} : { ruleName }),
    ...(awsIotSqlVersion === undefined ? {} : { awsIotSqlVersion }),
    ...(clientId === undefined ? {} : { clientId }),
  });
}
