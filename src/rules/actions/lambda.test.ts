// Proves the lambda action and the aws_lambda invoker: a local module gets the SELECT output as its event (by ARN or by function name, templates rendered), failures and timeouts become ActionFailure('LambdaAction', arn), other functions go through the Lambda SDK as 'Event' (action) or 'RequestResponse' (invoker), and bad parameters are refused at create time naming the field.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isServiceError } from '../../shared/index.js';
import { ActionFailure, type ActionDependencies, type ActionsConfig } from './action.js';
import { createLambdaInvoker, functionNameOf, jsonText, lambdaActionFactory, LambdaInvocationError, localFunctionModule } from './lambda.js';
import { matchedInput as input, silent } from './test-fixtures.js';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:';

let dir = '';
let config: ActionsConfig;
let deps: ActionDependencies;
const closers: (() => Promise<void>)[] = [];

// Each local function records its event (and a few context fields) in a file named after its output.
const FUNCTIONS: Record<string, string> = {
  'record.mjs': `import { writeFileSync } from 'node:fs';
    export const handler = async (event, context) => {
      writeFileSync(new URL('./' + (event.out ?? 'record') + '.json', import.meta.url), JSON.stringify({ event, name: context.functionName, arn: context.invokedFunctionArn }));
      return { ok: true, echo: event };
    };`,
  'fails.mjs': `export const handler = async () => { throw new TypeError('no such sensor'); };`,
  'slow.mjs': `export const handler = () => new Promise((r) => setTimeout(r, 60000));`,
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'thingcore-lambda-'));
  for (const [file, text] of Object.entries(FUNCTIONS)) await writeFile(join(dir, file), text);
  config = {
    localFunctions: {
      [`${ARN}record`]: join(dir, 'record.mjs'),
      byname: join(dir, 'record.mjs'),
      fails: join(dir, 'fails.mjs'),
      slow: join(dir, 'slow.mjs'),
    },
    lambdaTimeoutMs: 500,
    lambdaMemoryMb: 64,
  };
  deps = { config, logger: silent, publish: async () => undefined };
});

after(async () => {
  for (const close of closers) await close();
  await rm(dir, { recursive: true, force: true });
});

function action(params: unknown, d: ActionDependencies = deps) {
  const a = lambdaActionFactory.create(params, d, '2016-03-23');
  closers.push(async () => a.close?.());
  return a;
}

async function recorded(name: string): Promise<{ event: unknown; name: string; arn: string }> {
  return JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as { event: unknown; name: string; arn: string };
}

async function failure(p: Promise<unknown>): Promise<ActionFailure> {
  try {
    await p;
  } catch (err: unknown) {
    assert.ok(err instanceof ActionFailure, `expected an ActionFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an ActionFailure');
}

describe('lambda action, local functions', () => {
  it('invokes the module mapped to the ARN with the SELECT output as the event', async () => {
    const a = action({ functionArn: `${ARN}record` });
    await a.execute(input("SELECT temp AS t, topic(2) AS device, 'one' AS out FROM 'sensors/+'", 'sensors/d1', '{"temp":54.98}'));
    assert.deepStrictEqual(await recorded('one'), { event: { t: 54.98, device: 'd1', out: 'one' }, name: 'record', arn: `${ARN}record` });
  });

  it('finds a module by the function name in the ARN (version or alias ignored) and renders templates', async () => {
    const a = action({ functionArn: `${ARN}\${topic(2)}:live` });
    await a.execute(input("SELECT 'two' AS out FROM 'fn/+'", 'fn/byname', '{}'));
    assert.deepStrictEqual(await recorded('two'), { event: { out: 'two' }, name: 'byname', arn: `${ARN}byname:live` });
  });

  it('turns a thrown error into ActionFailure naming the ARN and the error type', async () => {
    const a = action({ functionArn: `${ARN}fails` });
    const f = await failure(a.execute(input("SELECT * FROM 't'", 't', '{}')));
    assert.equal(f.failedAction, 'LambdaAction');
    assert.equal(f.failedResource, `${ARN}fails`);
    assert.match(f.message, /TypeError: no such sensor/);
  });

  it('fails a function that outlives lambdaTimeoutMs', async () => {
    const a = action({ functionArn: `${ARN}slow` });
    const started = Date.now();
    const f = await failure(a.execute(input("SELECT * FROM 't'", 't', '{}')));
    assert.match(f.message, /Sandbox\.Timedout: Task timed out after 0\.50 seconds/);
    assert.ok(Date.now() - started < 3000);
  });

  it('refuses a binary output (Lambda takes JSON only) and sends {} for an empty output', async () => {
    const a = action({ functionArn: `${ARN}record` });
    const f = await failure(a.execute(input("SELECT * FROM 't'", 't', Buffer.from([0xff, 0x00]))));
    assert.match(f.message, /binary data; select encode\(\*, 'base64'\)/);
    await a.execute(input("SELECT VALUE nothing FROM 't'", 't', '{}'));
    assert.deepStrictEqual((await recorded('record')).event, {});
  });

  it('maps ARNs, partial ARNs and names to a function name', () => {
    assert.equal(functionNameOf(`${ARN}f1`), 'f1');
    assert.equal(functionNameOf(`${ARN}f1:prod`), 'f1');
    assert.equal(functionNameOf(`${ARN}f1:$LATEST`), 'f1');
    assert.equal(functionNameOf('123456789012:function:f2'), 'f2');
    assert.equal(functionNameOf('f3'), 'f3');
    assert.equal(localFunctionModule({ localFunctions: { f: 'rel/f.mjs' } }, `${ARN}f`), join(process.cwd(), 'rel/f.mjs'));
    assert.equal(localFunctionModule({ localFunctions: { f: '/abs/f.mjs' } }, `${ARN}g`), undefined);
    assert.equal(localFunctionModule({}, `${ARN}f`), undefined);
  });
});

describe('aws_lambda invoker', () => {
  it('answers with the local function result parsed', async () => {
    const invoker = createLambdaInvoker(config, silent);
    closers.push(() => invoker.close());
    assert.deepStrictEqual(await invoker.invoke(`${ARN}record`, { out: 'three', n: 12345678901234567890n }), {
      ok: true,
      echo: { out: 'three', n: 12345678901234567000 },
    });
    await assert.rejects(invoker.invoke(`${ARN}fails`, {}), (err: unknown) => err instanceof LambdaInvocationError && err.errorType === 'TypeError');
  });

  it('writes payloads as JSON with every digit of a bigint and bytes as Base64', () => {
    assert.equal(jsonText({ a: 12345678901234567890n, b: Buffer.from('hi'), c: [1, undefined, 'x'], d: undefined }), '{"a":12345678901234567890,"b":"aGk=","c":[1,null,"x"]}');
    assert.equal(jsonText(undefined), '{}');
    assert.equal(jsonText('s'), '"s"');
  });
});

describe('lambda through the SDK (a fake Lambda endpoint)', () => {
  let server: Server;
  const requests: { path: string; invocationType: string | undefined; body: string }[] = [];

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = decodeURIComponent(req.url ?? '');
        const invocationType = req.headers['x-amz-invocation-type'] as string | undefined;
        requests.push({ path, invocationType, body: Buffer.concat(chunks).toString('utf8') });
        if (path.includes('function:missing')) {
          res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
          res.end(JSON.stringify({ Type: 'User', message: 'Function not found: missing' }));
        } else if (invocationType === 'Event') {
          res.writeHead(202).end();
        } else if (path.includes('function:broken')) {
          res.writeHead(200, { 'x-amz-function-error': 'Unhandled' });
          res.end(JSON.stringify({ errorType: 'Error', errorMessage: 'it broke' }));
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ answer: 42, got: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  after(async () => {
    await new Promise((r) => server.close(r));
  });

  function remoteConfig(): ActionsConfig {
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    return { lambdaEndpoint: `http://127.0.0.1:${address.port}`, awsRegion: 'us-east-1', awsCredentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
  }

  it("invokes with InvocationType 'Event' and the output bytes", async () => {
    const a = action({ functionArn: `${ARN}remote` }, { ...deps, config: remoteConfig() });
    await a.execute(input("SELECT temp FROM 't'", 't', '{"temp":1.5}'));
    const last = requests.at(-1);
    assert.deepStrictEqual(last, { path: `/2015-03-31/functions/${ARN}remote/invocations`, invocationType: 'Event', body: '{"temp":1.5}' });
  });

  it('turns an SDK error into ActionFailure', async () => {
    const a = action({ functionArn: `${ARN}missing` }, { ...deps, config: remoteConfig() });
    const f = await failure(a.execute(input("SELECT * FROM 't'", 't', '{}')));
    assert.equal(f.failedResource, `${ARN}missing`);
    assert.match(f.message, /ResourceNotFoundException/);
  });

  it('the invoker uses RequestResponse and reports a function error', async () => {
    const invoker = createLambdaInvoker(remoteConfig(), silent);
    closers.push(() => invoker.close());
    assert.deepStrictEqual(await invoker.invoke(`${ARN}remote`, { x: [1, 2] }), { answer: 42, got: { x: [1, 2] } });
    assert.equal(requests.at(-1)?.invocationType, 'RequestResponse');
    await assert.rejects(invoker.invoke(`${ARN}broken`, {}), (err: unknown) => err instanceof LambdaInvocationError && err.errorType === 'Error' && err.message === 'it broke');
  });
});

describe('lambda parameters (create time)', () => {
  const refused: [unknown, RegExp][] = [
    [undefined, /^Invalid lambda action: 'lambda' must be an object/],
    [{}, /^Invalid lambda action: 'lambda.functionArn' is required$/],
    [{ functionArn: '' }, /'lambda.functionArn' must be a non-empty string/],
    [{ functionArn: 7 }, /'lambda.functionArn' must be a non-empty string/],
    [{ functionArn: 'arn:aws:s3:::bucket' }, /'lambda.functionArn' "arn:aws:s3:::bucket" is not a Lambda function ARN/],
    [{ functionArn: `${ARN}f`, qualifier: 'x' }, /'lambda.qualifier' is not a parameter of lambda/],
  ];
  for (const [params, message] of refused) {
    it(`refuses ${JSON.stringify(params) ?? 'undefined'}`, () => {
      assert.throws(() => lambdaActionFactory.create(params, deps, '2016-03-23'), (err: unknown) => isServiceError(err, 'InvalidRequestException') && message.test(err.message));
    });
  }

  it('refuses a template that does not parse with SqlParseException', () => {
    assert.throws(() => lambdaActionFactory.create({ functionArn: `${ARN}\${topic(}` }, deps, '2016-03-23'), (err: unknown) => isServiceError(err, 'SqlParseException') && /lambda\.functionArn/.test(err.message));
  });

  it('refuses external functions in an errorAction template when told so', () => {
    assert.throws(
      () => lambdaActionFactory.create({ functionArn: `${ARN}\${aws_lambda('${ARN}x', {})}` }, deps, '2016-03-23', { allowExternalFunctions: false }),
      (err: unknown) => isServiceError(err, 'SqlParseException'),
    );
  });
});
