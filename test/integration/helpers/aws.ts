// Drives a test server with AWS's own SDK clients: the admin credentials from its data directory, an
// IoTClient and an IoTDataPlaneClient signed with them, and an assertion that a call fails with one of
// the SDK's exception classes and its HTTP status.
import * as assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { IoTClient } from '@aws-sdk/client-iot';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { parseSharedCredentials } from '../../../src/api/index.js';

/** A server's ports and data directory: a TestServer, a RunningServer, or a `thingcore serve` child's. */
export interface ServerLocation {
  readonly endpoints: { readonly https: { readonly port: number }; readonly http?: { readonly port: number } };
  readonly dataDir: string;
}

/** The admin access key the server wrote to `<dataDir>/credentials` (profile `default`). */
export async function adminCredentials(dataDir: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const profile = parseSharedCredentials(await readFile(join(dataDir, 'credentials'), 'utf8')).get('default');
  const credentials = { accessKeyId: profile?.get('aws_access_key_id') ?? '', secretAccessKey: profile?.get('aws_secret_access_key') ?? '' };
  assert.ok(credentials.accessKeyId !== '' && credentials.secretAccessKey !== '', 'admin credentials in the data dir');
  return credentials;
}

/** An IoTClient with the admin key on the plain HTTP port (the server needs `httpPort`); no retries. */
export async function adminIotClient(server: ServerLocation): Promise<IoTClient> {
  const http = server.endpoints.http;
  assert.ok(http !== undefined, 'the plain HTTP API is on (httpPort)');
  return new IoTClient({
    endpoint: `http://127.0.0.1:${http.port}`,
    region: 'us-east-1',
    credentials: await adminCredentials(server.dataDir),
    maxAttempts: 1,
  });
}

/** An IoTDataPlaneClient with the admin key on the HTTPS port, trusting the data dir's ca.pem; no retries. */
export async function adminDataPlaneClient(server: ServerLocation): Promise<IoTDataPlaneClient> {
  const ca = await readFile(join(server.dataDir, 'ca.pem'), 'utf8');
  return new IoTDataPlaneClient({
    endpoint: `https://localhost:${server.endpoints.https.port}`,
    region: 'us-east-1',
    credentials: await adminCredentials(server.dataDir),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca }) }),
  });
}

/**
 * Asserts that `call` rejects with an instance of `type` whose HTTP status is `status` (and, when given,
 * whose message equals the string or matches the pattern), and returns the error.
 */
export async function rejectsWith<T extends abstract new (...args: never[]) => Error>(
  call: Promise<unknown>,
  type: T,
  status: number,
  message?: string | RegExp,
): Promise<InstanceType<T>> {
  let caught: unknown;
  await assert.rejects(call, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)} (${(caught as { name?: string }).name})`);
  assert.equal((caught as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, status);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else if (message !== undefined) assert.match(caught.message, message);
  return caught as InstanceType<T>;
}
