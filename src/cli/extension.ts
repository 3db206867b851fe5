/**
 * Thingcore's extension routes (not AWS operations) called through the AWS SDK client, so they are
 * signed, retried and report errors exactly like the AWS operations the CLI uses.
 */
import { Readable } from 'node:stream';
import { GetTopicRuleCommand } from '@aws-sdk/client-iot';
import type { IoTClient } from '@aws-sdk/client-iot';
import { CliError } from './errors.js';

/**
 * Calls a Thingcore extension route through the SDK: a GetTopicRule whose method, path and body are
 * replaced in the build step (before signing), and whose raw 200 body is taken before the SDK's
 * deserializer. Errors come back as the SDK's modeled exceptions.
 */
export async function callExtension(
  client: IoTClient,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  query: Readonly<Record<string, string>> = {},
): Promise<unknown> {
  const command = new GetTopicRuleCommand({ ruleName: 'x' });
  const text = body === undefined ? undefined : JSON.stringify(body);
  let raw: Buffer | undefined;
  command.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as { method?: unknown; path?: unknown; query?: unknown; body?: unknown; headers?: Record<string, string> };
      if (typeof r.path !== 'string' || r.headers === undefined) throw new Error('unexpected request shape in the IoT client');
      r.method = method;
      r.path = path;
      r.query = { ...query };
      if (text === undefined) {
        delete r.body;
      } else {
        r.body = text;
        r.headers['content-type'] = 'application/json';
        r.headers['content-length'] = String(Buffer.byteLength(text));
      }
      return next(args);
    },
    { step: 'build', name: 'thingcoreExtensionRequest' },
  );
  command.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const response = result.response as { statusCode?: number; body?: unknown };
      if (typeof response.statusCode === 'number' && response.statusCode >= 200 && response.statusCode < 300) {
        raw = await readAll(response.body);
        response.body = Readable.from([Buffer.from('{}')]);
      }
      return result;
    },
    { step: 'deserialize', name: 'thingcoreExtensionResponse', priority: 'low' },
  );
  await client.send(command);
  if (raw === undefined) throw new CliError(`${method} ${path} got no answer body`);
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new CliError(`the server answered ${method} ${path} with something that is not JSON: ${raw.toString('utf8').slice(0, 200)}`);
  }
}

async function readAll(body: unknown): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (typeof body === 'string') return Buffer.from(body);
  if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  return Buffer.alloc(0);
}
