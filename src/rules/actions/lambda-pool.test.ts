// Proves the local Lambda pool runs handlers (async, callback and plain) in worker threads with a Lambda-shaped context, reports thrown errors in Lambda's words, and replaces a worker that times out, crashes or exceeds its memory bound while the pool keeps serving.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LambdaInvocationError, LambdaPool, type LocalInvocation } from './lambda-pool.js';

const logged: { level: string; obj: object; msg?: string }[] = [];
const logger = {
  info: (obj: object, msg?: string) => void logged.push({ level: 'info', obj, ...(msg === undefined ? {} : { msg }) }),
  warn: (obj: object, msg?: string) => void logged.push({ level: 'warn', obj, ...(msg === undefined ? {} : { msg }) }),
  error: (obj: object, msg?: string) => void logged.push({ level: 'error', obj, ...(msg === undefined ? {} : { msg }) }),
};

const FUNCTIONS: Record<string, string> = {
  'echo.mjs': `export const handler = async (event, context) => ({
    event,
    functionName: context.functionName,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    awsRequestId: context.awsRequestId,
    remaining: context.getRemainingTimeInMillis(),
    env: process.env.AWS_LAMBDA_FUNCTION_NAME,
  });`,
  'callback.cjs': `exports.handler = function (event, context, callback) { setTimeout(() => callback(null, { doubled: event.n * 2 }), 5); };`,
  'plain.mjs': `export function handler(event) { return event.n + 1; }`,
  'throws.mjs': `export const handler = async () => { const e = new RangeError('temperature out of range'); throw e; };`,
  'callback-error.cjs': `exports.handler = (event, context, cb) => cb(new Error('refused'));`,
  'loops.mjs': `export const handler = async () => { for (;;) {} };`,
  'crashes.mjs': `export const handler = () => new Promise(() => { setTimeout(() => { throw new Error('boom in a timer'); }, 1); });`,
  'hog.mjs': `export const handler = async () => { const keep = []; for (;;) keep.push(new Array(100000).fill(Math.random())); };`,
  'logs.mjs': `export const handler = async (event) => { console.log('seen', event.n); return null; };`,
  'no-handler.mjs': `export const other = () => 1;`,
  'circular.mjs': `export const handler = async () => { const o = {}; o.o = o; return o; };`,
  'undefined.mjs': `export const handler = async () => undefined;`,
};

let dir = '';
const pools: LambdaPool[] = [];

function pool(options: { timeoutMs?: number; memoryMb?: number; size?: number; maxQueue?: number } = {}): LambdaPool {
  const p = new LambdaPool({ timeoutMs: options.timeoutMs ?? 2000, memoryMb: options.memoryMb ?? 64, logger, size: options.size ?? 2, ...(options.maxQueue === undefined ? {} : { maxQueue: options.maxQueue }) });
  pools.push(p);
  return p;
}

function inv(file: string, event: unknown = {}): LocalInvocation {
  const name = file.replace(/\.[cm]js$/, '');
  return { modulePath: join(dir, file), functionName: name, functionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`, payload: JSON.stringify(event) };
}

async function rejection(p: Promise<unknown>): Promise<LambdaInvocationError> {
  try {
    await p;
  } catch (err: unknown) {
    assert.ok(err instanceof LambdaInvocationError, `expected a LambdaInvocationError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'thingcore-lambda-pool-'));
  for (const [file, text] of Object.entries(FUNCTIONS)) await writeFile(join(dir, file), text);
});

after(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('LambdaPool', () => {
  it('runs an async handler with the event and a Lambda-shaped context', async () => {
    const p = pool();
    const out = JSON.parse(await p.invoke(inv('echo.mjs', { temp: 54.98, tags: ['a'] }))) as Record<string, unknown>;
    assert.deepStrictEqual(out['event'], { temp: 54.98, tags: ['a'] });
    assert.equal(out['functionName'], 'echo');
    assert.equal(out['invokedFunctionArn'], 'arn:aws:lambda:us-east-1:123456789012:function:echo');
    assert.equal(out['memoryLimitInMB'], '64');
    assert.equal(out['env'], 'echo');
    assert.match(String(out['awsRequestId']), /^[0-9a-f-]{36}$/);
    assert.ok(typeof out['remaining'] === 'number' && out['remaining'] > 1000 && out['remaining'] <= 2000);
  });

  it('runs callback-style (CommonJS) and plain handlers; undefined answers null', async () => {
    const p = pool();
    assert.equal(await p.invoke(inv('callback.cjs', { n: 21 })), '{"doubled":42}');
    assert.equal(await p.invoke(inv('plain.mjs', { n: 1 })), '2');
    assert.equal(await p.invoke(inv('undefined.mjs')), 'null');
  });

  it('reports a thrown error and a callback error with their type and message; the worker stays', async () => {
    const p = pool({ size: 1 });
    const e = await rejection(p.invoke(inv('throws.mjs')));
    assert.equal(e.errorType, 'RangeError');
    assert.equal(e.message, 'temperature out of range');
    assert.ok(e.stackTrace.length > 0);
    const e2 = await rejection(p.invoke(inv('callback-error.cjs')));
    assert.equal(e2.errorType, 'Error');
    assert.equal(e2.message, 'refused');
    assert.equal(p.stats.replaced, 0, 'a handled failure does not cost the worker');
  });

  it('names a missing handler, a missing module and an answer that is not JSON', async () => {
    const p = pool({ size: 1 });
    assert.equal((await rejection(p.invoke(inv('no-handler.mjs')))).errorType, 'Runtime.HandlerNotFound');
    assert.equal((await rejection(p.invoke(inv('missing.mjs')))).errorType, 'Runtime.ImportModuleError');
    assert.equal((await rejection(p.invoke(inv('circular.mjs')))).errorType, 'Runtime.MarshalError');
  });

  it('times out a function that never answers, replaces its worker, and keeps serving', async () => {
    const p = pool({ size: 1, timeoutMs: 300 });
    const started = Date.now();
    const e = await rejection(p.invoke(inv('loops.mjs')));
    assert.equal(e.errorType, 'Sandbox.Timedout');
    assert.equal(e.message, 'Task timed out after 0.30 seconds');
    assert.ok(Date.now() - started < 2000);
    assert.equal(p.stats.replaced, 1);
    assert.equal(await p.invoke(inv('plain.mjs', { n: 41 })), '42');
    assert.equal(p.stats.workers, 1);
  });

  it('queues invocations beyond the workers, and a timeout does not fail the others', async () => {
    const p = pool({ size: 1, timeoutMs: 300 });
    const looping = p.invoke(inv('loops.mjs'));
    const queued = p.invoke(inv('plain.mjs', { n: 1 }));
    assert.equal(p.stats.queued, 1);
    assert.equal((await rejection(looping)).errorType, 'Sandbox.Timedout');
    assert.equal(await queued, '2');
  });

  it('replaces a worker killed by an uncaught error', async () => {
    const p = pool({ size: 1 });
    const e = await rejection(p.invoke(inv('crashes.mjs')));
    assert.equal(e.errorType, 'Runtime.ExitError');
    assert.match(e.message, /boom in a timer/);
    assert.equal(p.stats.replaced, 1);
    assert.equal(await p.invoke(inv('plain.mjs', { n: 2 })), '3');
  });

  it('stops a function that exceeds its memory bound and replaces its worker', async () => {
    const p = pool({ size: 1, memoryMb: 32, timeoutMs: 20_000 });
    const e = await rejection(p.invoke(inv('hog.mjs')));
    assert.equal(e.errorType, 'Runtime.OutOfMemory');
    assert.match(e.message, /32 MB/);
    assert.equal(await p.invoke(inv('plain.mjs', { n: 3 })), '4');
  });

  it('sends what a function prints to the logger with its name', async () => {
    const p = pool({ size: 1 });
    await p.invoke(inv('logs.mjs', { n: 7 }));
    for (let i = 0; i < 50 && !logged.some((l) => (l.obj as { text?: string }).text === 'seen 7'); i++) await new Promise((r) => setTimeout(r, 10));
    const line = logged.find((l) => (l.obj as { text?: string }).text === 'seen 7');
    assert.ok(line);
    assert.equal((line.obj as { functionName?: string }).functionName, 'logs');
  });

  it('refuses work beyond its queue bound and after close', async () => {
    const p = pool({ size: 1, maxQueue: 1, timeoutMs: 300 });
    const running = p.invoke(inv('loops.mjs'));
    const waiting = p.invoke(inv('plain.mjs', { n: 0 }));
    assert.equal((await rejection(p.invoke(inv('plain.mjs', { n: 0 })))).errorType, 'TooManyRequestsException');
    await rejection(running);
    assert.equal(await waiting, '1');
    await p.close();
    assert.equal((await rejection(p.invoke(inv('plain.mjs', { n: 0 })))).errorType, 'ServiceException');
  });
});
