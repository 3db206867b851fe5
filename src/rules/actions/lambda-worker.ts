/**
 * The thread that runs local Lambda functions (started by lambda-pool.ts, one invocation at a time):
 * imports a function's module once, calls its `handler(event, context[, callback])` the way the
 * Node.js Lambda runtime does, and answers with the result as JSON text or the error as Lambda
 * reports it ({errorType, errorMessage, stackTrace}). The pool enforces the timeout by terminating
 * this thread and the memory bound through resourceLimits; nothing here guards against either.
 *
 * Handler styles: a handler returning a promise (async) settles with it; otherwise one declaring a
 * third parameter settles when it calls `callback(err, result)` (or the legacy context.succeed /
 * fail / done); otherwise [DECISION] its return value is the result at once (the real runtime would
 * also wait for an empty event loop, which a shared thread cannot observe).
 */
import { parentPort, threadId } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { WorkerReply, WorkerRequest } from './lambda-pool.js';

type Handler = (event: unknown, context: object, callback: (err?: unknown, result?: unknown) => void) => unknown;

class LambdaRuntimeError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const handlers = new Map<string, Handler>();

async function loadHandler(modulePath: string): Promise<Handler> {
  const cached = handlers.get(modulePath);
  if (cached !== undefined) return cached;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  } catch (err: unknown) {
    throw new LambdaRuntimeError('Runtime.ImportModuleError', `Cannot load ${modulePath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let handler = mod['handler'];
  const fallback = mod['default'];
  if (typeof handler !== 'function' && typeof fallback === 'object' && fallback !== null) handler = (fallback as Record<string, unknown>)['handler'];
  if (typeof handler !== 'function') throw new LambdaRuntimeError('Runtime.HandlerNotFound', `${modulePath} does not export a function named handler`);
  handlers.set(modulePath, handler as Handler);
  return handler as Handler;
}

function callHandler(handler: Handler, event: unknown, context: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err?: unknown, result?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    context['done'] = callback;
    context['succeed'] = (result?: unknown) => callback(null, result);
    context['fail'] = (err?: unknown) => callback(err ?? new Error('handled'));
    let returned: unknown;
    try {
      returned = handler(event, context, callback);
    } catch (err: unknown) {
      callback(err ?? new Error('thrown'));
      return;
    }
    if (typeof returned === 'object' && returned !== null && typeof (returned as { then?: unknown }).then === 'function') {
      (returned as Promise<unknown>).then(
        (result) => callback(null, result),
        (err: unknown) => callback(err ?? new Error('rejected')),
      );
    } else if (handler.length < 3) {
      callback(null, returned);
    }
  });
}

function errorReply(id: number, err: unknown): WorkerReply {
  if (err instanceof Error) {
    return { id, ok: false, errorType: err.name, errorMessage: err.message, stackTrace: (err.stack ?? '').split('\n').slice(1).map((l) => l.trim()) };
  }
  return { id, ok: false, errorType: typeof err, errorMessage: String(err), stackTrace: [] };
}

async function run(req: WorkerRequest): Promise<WorkerReply> {
  try {
    const handler = await loadHandler(req.modulePath);
    const event: unknown = req.payload.trim() === '' ? {} : JSON.parse(req.payload);
    process.env['AWS_LAMBDA_FUNCTION_NAME'] = req.functionName;
    process.env['AWS_LAMBDA_FUNCTION_VERSION'] = '$LATEST';
    process.env['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'] = String(req.memoryMb);
    const context: Record<string, unknown> = {
      functionName: req.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: req.functionArn,
      memoryLimitInMB: String(req.memoryMb),
      awsRequestId: req.awsRequestId,
      logGroupName: `/aws/lambda/${req.functionName}`,
      logStreamName: `thingcore/worker-${threadId}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, req.deadlineMs - Date.now()),
    };
    const result = await callHandler(handler, event, context);
    let text: string | undefined;
    try {
      text = JSON.stringify(result);
    } catch (err: unknown) {
      throw new LambdaRuntimeError('Runtime.MarshalError', `Unable to stringify the response: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { id: req.id, ok: true, result: text ?? 'null' };
  } catch (err: unknown) {
    return errorReply(req.id, err);
  }
}

const port = parentPort;
if (port === null) throw new Error('lambda-worker.js runs as a worker thread (lambda-pool.ts starts it)');
port.on('message', (req: WorkerRequest) => {
  void run(req).then((reply) => port.postMessage(reply));
});
