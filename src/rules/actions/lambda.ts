/**
 * The `lambda` action (spec/iot-sql.md section 9; developer guide lambda-rule-action) and the
 * invoker behind the SQL function aws_lambda(functionArn, payload) (section 7).
 *
 *   { "lambda": { "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:notify" } }
 *   ActionsConfig.localFunctions = { "notify": "/srv/functions/notify.mjs" }
 *   → notify.mjs's handler(event, context) runs in a worker thread with event = the SELECT output
 *
 * A function named in `localFunctions` (by its full functionArn, or by its name: the ARN without
 * region, account and version/alias) runs locally in a LambdaPool (lambda-pool.ts) with the
 * configured timeout (lambdaTimeoutMs, default 3000) and heap bound (lambdaMemoryMb, default 128).
 * Any other function is invoked with @aws-sdk/client-lambda at `lambdaEndpoint` (AWS itself when
 * absent) with InvocationType 'Event', as AWS IoT does: the action succeeds once Lambda accepted it.
 *
 * [DECISION] A local function runs to completion before the action settles, so its thrown error,
 * timeout or crash becomes the action's ActionFailure (errorAction gets it). In AWS a function
 * invoked asynchronously fails out of IoT's sight (Lambda retries it, then its DLQ); Thingcore has
 * no such queue and prefers to say so.
 *
 * The event is the SELECT output as JSON (AWS sends the output bytes); a non-JSON output (raw bytes
 * of SELECT *) is refused as Lambda refuses a non-JSON payload: use encode(*, 'base64') (developer
 * guide binary-payloads). An empty output (Undefined) is the event {}.
 */
import { isAbsolute, resolve } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { AwsErrors } from '../../shared/index.js';
import { isSqlVersion, SQL_VERSIONS, type SqlVersion } from '../sql/values.js';
import { compileTemplate, type CompiledTemplate } from '../template.js';
import { ActionFailure, type ActionDependencies, type ActionFactory, type ActionInput, type ActionsConfig, type RuleAction } from './action.js';
import { LambdaInvocationError, LambdaPool } from './lambda-pool.js';
import type { ActionCreateOptions } from './index.js';

export { LambdaInvocationError } from './lambda-pool.js';

const ACTION = 'lambda';
const FAILED_ACTION = 'LambdaAction';
export const DEFAULT_LAMBDA_TIMEOUT_MS = 3000;
export const DEFAULT_LAMBDA_MEMORY_MB = 128;
/** aws_lambda() waits this long for the answer (spec section 7: "2 s limit"). */
export const AWS_LAMBDA_FUNCTION_TIMEOUT_MS = 2000;

// Lambda's FunctionName pattern (name, partial ARN or full ARN, optional version or alias).
const FUNCTION_NAME = /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9._-]+)(:(\$LATEST|[a-zA-Z0-9_-]+))?$/;

/** The function name inside a functionArn, partial ARN or name (version or alias dropped). */
export function functionNameOf(functionArn: string): string {
  const m = FUNCTION_NAME.exec(functionArn);
  return m?.[7] ?? functionArn;
}

/** The local module serving a function, if ActionsConfig.localFunctions names it. */
export function localFunctionModule(config: ActionsConfig, functionArn: string): string | undefined {
  const local = config.localFunctions;
  if (local === undefined) return undefined;
  const path = Object.hasOwn(local, functionArn) ? local[functionArn] : Object.hasOwn(local, functionNameOf(functionArn)) ? local[functionNameOf(functionArn)] : undefined;
  if (path === undefined) return undefined;
  return isAbsolute(path) ? path : resolve(path);
}

// ---------------------------------------------------------------------------------------------
// One LambdaPool and one LambdaClient per ActionsConfig, shared by every lambda action and invoker
// built on it; both are created on first use (a rule that is only validated starts nothing) and
// closed when the last user closes.

interface Shared {
  pool: LambdaPool | undefined;
  client: LambdaClient | undefined;
  users: number;
}

interface Lease {
  pool(): LambdaPool;
  client(): LambdaClient;
  release(): Promise<void>;
}

const shared = new WeakMap<ActionsConfig, Shared>();

function acquire(config: ActionsConfig, logger: ActionDependencies['logger']): Lease {
  let entry = shared.get(config);
  if (entry === undefined) {
    entry = { pool: undefined, client: undefined, users: 0 };
    shared.set(config, entry);
  }
  const e = entry;
  e.users += 1;
  let released = false;
  const live = (): void => {
    if (released) throw new LambdaInvocationError('ServiceException', 'This Lambda action or invoker is closed');
  };
  return {
    pool() {
      live();
      e.pool ??= new LambdaPool({
        timeoutMs: config.lambdaTimeoutMs ?? DEFAULT_LAMBDA_TIMEOUT_MS,
        memoryMb: config.lambdaMemoryMb ?? DEFAULT_LAMBDA_MEMORY_MB,
        logger,
      });
      return e.pool;
    },
    client() {
      live();
      e.client ??= new LambdaClient({
        region: config.awsRegion ?? process.env['AWS_REGION'] ?? 'us-east-1',
        ...(config.lambdaEndpoint === undefined ? {} : { endpoint: config.lambdaEndpoint }),
        ...(config.awsCredentials === undefined ? {} : { credentials: config.awsCredentials }),
        maxAttempts: 3,
        requestHandler: { connectionTimeout: 3000, requestTimeout: 5000 },
      });
      return e.client;
    },
    async release() {
      if (released) return;
      released = true;
      e.users -= 1;
      if (e.users > 0) return;
      shared.delete(config);
      const pool = e.pool;
      e.pool = undefined;
      e.client?.destroy();
      e.client = undefined;
      await pool?.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// aws_lambda(functionArn, payload): RequestResponse.

export interface LambdaInvoker {
  /**
   * Invokes the function synchronously and resolves with its JSON answer parsed (undefined for an
   * empty answer); rejects with LambdaInvocationError when the function fails, times out or cannot
   * be invoked. Bound to the invoker: pass it as EvaluationContext.invokeLambda.
   */
  readonly invoke: (functionArn: string, payload: unknown) => Promise<unknown>;
  close(): Promise<void>;
}

export function createLambdaInvoker(config: ActionsConfig, logger: ActionDependencies['logger']): LambdaInvoker {
  const lease = acquire(config, logger);
  return {
    invoke: async (functionArn, payload) => {
      const text = jsonText(payload);
      const module = localFunctionModule(config, functionArn);
      if (module !== undefined) {
        const answer = await lease.pool().invoke({
          modulePath: module,
          functionName: functionNameOf(functionArn),
          functionArn,
          payload: text,
          timeoutMs: AWS_LAMBDA_FUNCTION_TIMEOUT_MS,
        });
        return JSON.parse(answer) as unknown;
      }
      let out;
      try {
        out = await lease.client().send(
          new InvokeCommand({ FunctionName: functionArn, InvocationType: 'RequestResponse', Payload: Buffer.from(text, 'utf8') }),
          { abortSignal: AbortSignal.timeout(AWS_LAMBDA_FUNCTION_TIMEOUT_MS) },
        );
      } catch (err: unknown) {
        throw new LambdaInvocationError(err instanceof Error ? err.name : 'Error', err instanceof Error ? err.message : String(err));
      }
      const answer = out.Payload === undefined ? '' : Buffer.from(out.Payload).toString('utf8');
      if (out.FunctionError !== undefined) {
        const e = parseOr(answer, {}) as { errorType?: unknown; errorMessage?: unknown };
        throw new LambdaInvocationError(
          typeof e.errorType === 'string' ? e.errorType : out.FunctionError,
          typeof e.errorMessage === 'string' ? e.errorMessage : answer,
        );
      }
      return answer.trim() === '' ? undefined : (JSON.parse(answer) as unknown);
    },
    close: () => lease.release(),
  };
}

/** JSON text of an aws_lambda payload: bigints keep every digit, bytes become Base64 text. */
export function jsonText(v: unknown): string {
  if (v === undefined) return '{}';
  return write(v, 0) ?? 'null';
}

function write(v: unknown, depth: number): string | undefined {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object' || v === null) return JSON.stringify(v);
  if (depth > 1000) return 'null';
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('base64'));
  if (Array.isArray(v)) return `[${v.map((item: unknown) => write(item, depth + 1) ?? 'null').join(',')}]`;
  const parts: string[] = [];
  for (const [k, item] of Object.entries(v)) {
    const text = write(item, depth + 1);
    if (text !== undefined) parts.push(`${JSON.stringify(k)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

function parseOr(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fallback;
  }
}

/** The rule's awsIotSqlVersion, checked (the rule service has checked it already). */
function sqlVersionOf(version: string): SqlVersion {
  if (!isSqlVersion(version)) throw AwsErrors.invalidRequest(`awsIotSqlVersion must be one of ${SQL_VERSIONS.join(', ')}`);
  return version;
}

/** InvalidRequestException worded as republish words it: Invalid <type> action: '<field>' <problem>. */
function invalid(field: string, problem: string): Error {
  return AwsErrors.invalidRequest(`Invalid ${/^[A-Za-z0-9]+/.exec(field)?.[0] ?? field} action: '${field}' ${problem}`);
}

// ---------------------------------------------------------------------------------------------
// The action.

const EMPTY_EVENT = Buffer.from('{}');

export const lambdaActionFactory: ActionFactory & {
  create(params: unknown, deps: ActionDependencies, sqlVersion: string, options?: ActionCreateOptions): RuleAction;
} = {
  type: ACTION,
  create(params: unknown, deps: ActionDependencies, sqlVersion: string, options: ActionCreateOptions = {}): RuleAction {
    if (typeof params !== 'object' || params === null || Array.isArray(params)) throw invalid(ACTION, 'must be an object with functionArn');
    for (const k of Object.keys(params)) {
      if (k !== 'functionArn') throw invalid(`${ACTION}.${k}`, `is not a parameter of ${ACTION} (expected functionArn)`);
    }
    const raw = (params as Record<string, unknown>)['functionArn'];
    if (raw === undefined || raw === null) throw invalid(`${ACTION}.functionArn`, 'is required');
    if (typeof raw !== 'string' || raw.length === 0) throw invalid(`${ACTION}.functionArn`, 'must be a non-empty string');
    if (raw.length > 2048) throw invalid(`${ACTION}.functionArn`, 'must be at most 2048 characters');
    const functionArn = compileTemplate(raw, sqlVersionOf(sqlVersion), {
      label: `${ACTION}.functionArn`,
      ...(options.allowExternalFunctions === false ? { allowExternalFunctions: false } : {}),
    });
    if (functionArn.isConstant && !FUNCTION_NAME.test(raw) && localFunctionModule(deps.config, raw) === undefined) {
      throw invalid(`${ACTION}.functionArn`, `${JSON.stringify(raw)} is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>[:<alias>])`);
    }
    return new LambdaAction(functionArn, deps.config, acquire(deps.config, deps.logger));
  },
};

class LambdaAction implements RuleAction {
  readonly type = ACTION;

  constructor(
    private readonly functionArn: CompiledTemplate,
    private readonly config: ActionsConfig,
    private readonly lease: Lease,
  ) {}

  async execute(input: ActionInput): Promise<void> {
    const m = input.match;
    let arn = this.functionArn.text;
    try {
      arn = await this.functionArn.render(m);
      if (!m.isJson && m.output !== undefined) {
        throw new ActionFailure(FAILED_ACTION, arn, `Lambda needs a JSON payload and the rule's output is binary data; select encode(*, 'base64') instead`);
      }
      const payload = m.payload().length === 0 ? EMPTY_EVENT : m.payload();
      const module = localFunctionModule(this.config, arn);
      if (module !== undefined) {
        await this.lease.pool().invoke({ modulePath: module, functionName: functionNameOf(arn), functionArn: arn, payload: payload.toString('utf8') });
        return;
      }
      if (!FUNCTION_NAME.test(arn)) throw new ActionFailure(FAILED_ACTION, arn, `Cannot invoke ${JSON.stringify(arn)}: not a Lambda function ARN`);
      const out = await this.lease.client().send(new InvokeCommand({ FunctionName: arn, InvocationType: 'Event', Payload: payload }));
      if (out.FunctionError !== undefined) throw new LambdaInvocationError(out.FunctionError, `Lambda reported ${out.FunctionError}`);
    } catch (err: unknown) {
      if (err instanceof ActionFailure) throw err;
      const message =
        err instanceof LambdaInvocationError
          ? `${err.errorType}: ${err.message}`
          : err instanceof Error
            ? `${err.name}: ${err.message}`
            : String(err);
      throw new ActionFailure(FAILED_ACTION, arn, `Failed to invoke Lambda function ${arn}: ${message}`, { cause: err });
    }
  }

  close(): Promise<void> {
    return this.lease.release();
  }
}
