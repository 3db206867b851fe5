/**
 * Test support for the action tests beside it (not used by the server): a DynamoDB endpoint on
 * loopback that records every request and answers each table a failure was configured for with
 * that DynamoDB error, every other with success; the action dependencies pointing at it; and the
 * ActionInput of a rule that matched a message.
 */
import * as assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { compileRule, type EvaluationContext } from '../index.js';
import type { ActionDependencies, ActionInput } from './action.js';

export const CTX: EvaluationContext = { timestamp: 1_700_000_000_000, clientId: 'c1' };
export const ROLE = 'arn:aws:iam::123456789012:role/iot';
export const silent = { info(): void {}, warn(): void {}, error(): void {} };

/** What a rule's actions get for `payload` on `topic`, evaluated by `sql` (which must match). */
export function matchedInput(sql: string, topic: string, payload: string | Buffer): ActionInput {
  const r = compileRule(sql, '2016-03-23').evaluate(topic, Buffer.from(payload), CTX);
  assert.ok(!(r instanceof Promise) && r.matched);
  return { ruleName: 'r', topic, originalPayload: Buffer.from(payload), match: r, context: CTX, hops: 0 };
}

export interface RecordingDynamoDb {
  /** Every request so far: its X-Amz-Target and JSON body. */
  readonly requests: { target: string; body: Record<string, unknown> }[];
  /** Action dependencies whose DynamoDB endpoint is this one. */
  readonly deps: ActionDependencies;
  close(): Promise<void>;
}

/** `failures`: table name → the DynamoDB error (`__type`, message) its requests get. */
export async function startRecordingDynamoDb(failures: Readonly<Record<string, { readonly type: string; readonly message: string }>>): Promise<RecordingDynamoDb> {
  const requests: RecordingDynamoDb['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      requests.push({ target: String(req.headers['x-amz-target']), body });
      const failure = failures[String(body['TableName'])];
      if (failure !== undefined) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: failure.type, message: failure.message }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    requests,
    deps: {
      config: { dynamoDbEndpoint: `http://127.0.0.1:${address.port}`, awsRegion: 'us-east-1', awsCredentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } },
      logger: silent,
      publish: async () => undefined,
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
