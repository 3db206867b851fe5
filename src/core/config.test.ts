// Proves the configuration rules: ARCHITECTURE.md defaults, --dev turning plain MQTT on, flags over
// environment over file, profile options with overrides, and clear errors for bad values.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { awsLimits, mqttFeatures } from '../mqtt/index.js';
import { ConfigError, loadConfigFile, parseConfigInput, resolveConfig } from './index.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const config = resolveConfig({ cwd: '/srv' });
    assert.equal(config.dataDir, '/srv/thingcore-data');
    assert.equal(config.host, '127.0.0.1');
    assert.deepEqual(config.hostNames, ['localhost', '127.0.0.1']);
    assert.equal(config.mqttsPort, 8883);
    assert.equal(config.httpsPort, 8443);
    assert.equal(config.mqttPort, null);
    assert.equal(config.httpPort, null);
    assert.equal(config.profile, 'aws');
    assert.equal(config.dev, false);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.region, 'us-east-1');
    assert.equal(config.accountId, '000000000000');
    assert.deepEqual(config.broker.limits, awsLimits);
  });

  it('--dev turns plain MQTT on at 1883 unless a port is given', () => {
    assert.equal(resolveConfig({ flags: { dev: true } }).mqttPort, 1883);
    assert.equal(resolveConfig({ flags: { dev: true, mqttPort: 0 } }).mqttPort, 0);
    assert.equal(resolveConfig({ flags: { mqttPort: 1884 } }).mqttPort, 1884);
  });

  it('takes the data dir from flags, then THINGCORE_DATA_DIR, then the file', () => {
    const env = { THINGCORE_DATA_DIR: '/env/dir' };
    assert.equal(resolveConfig({ flags: { dataDir: 'flag' }, file: { dataDir: '/file' }, env, cwd: '/w' }).dataDir, '/w/flag');
    assert.equal(resolveConfig({ file: { dataDir: '/file' }, env, cwd: '/w' }).dataDir, '/env/dir');
    assert.equal(resolveConfig({ file: { dataDir: '/file' }, cwd: '/w' }).dataDir, '/file');
  });

  it('lets flags win over the file, and applies profile and limit overrides', () => {
    const config = resolveConfig({
      flags: { mqttsPort: 1, profile: 'mqtt' },
      file: { mqttsPort: 2, httpsPort: 3, profile: 'aws', limits: { maxPayloadBytes: 1024 } },
    });
    assert.equal(config.mqttsPort, 1);
    assert.equal(config.httpsPort, 3);
    assert.equal(config.profile, 'mqtt');
    assert.equal(config.broker.profile, 'mqtt');
    assert.equal(config.broker.limits.maxPayloadBytes, 1024);
    assert.deepEqual(config.broker.features, mqttFeatures);
  });

  it('adds a specific bind address to the certificate host names', () => {
    assert.deepEqual(resolveConfig({ flags: { host: '192.0.2.7' } }).hostNames, ['localhost', '127.0.0.1', '192.0.2.7']);
    assert.deepEqual(resolveConfig({ flags: { host: '0.0.0.0' } }).hostNames, ['localhost', '127.0.0.1']);
  });

  it('parses flag strings and reports every bad value at once', () => {
    assert.deepEqual(parseConfigInput({ mqttsPort: '0', hostNames: 'a.example, 10.0.0.1', dev: true }, 'flags'), {
      mqttsPort: 0,
      hostNames: ['a.example', '10.0.0.1'],
      dev: true,
    });
    assert.throws(
      () => parseConfigInput({ mqttsPort: 'x', profile: 'gcp', logLevel: 'loud', region: 'mars', accountId: 12, mqttPorts: 1 }, 'flags'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 6);
        assert.match(err.message, /invalid configuration \(flags\)/);
        assert.match(err.message, /mqttsPort must be an integer from 0 to 65535 \(got "x"\)/);
        assert.match(err.message, /profile must be "aws" or "mqtt"/);
        assert.match(err.message, /unknown setting "mqttPorts"/);
        return true;
      },
    );
  });

  it('validates limits and features by name and type', () => {
    assert.throws(() => parseConfigInput({ limits: { maxPayloadByte: 1 } }, 'f'), /unknown limit "limits.maxPayloadByte"/);
    assert.throws(() => parseConfigInput({ limits: { maxPayloadBytes: -1 } }, 'f'), /limits.maxPayloadBytes must be an integer/);
    assert.throws(() => parseConfigInput({ features: { maxQos: 0 } }, 'f'), /features.maxQos must be 1 or 2/);
    assert.throws(() => parseConfigInput({ features: { willDelay: 'yes' } }, 'f'), /features.willDelay must be true or false/);
    assert.throws(() => parseConfigInput({ hostNames: ['bad name'] }, 'f'), /hostNames: "bad name" is neither/);
  });

  it('refuses two listeners on one port', () => {
    assert.throws(() => resolveConfig({ flags: { mqttsPort: 9000, httpsPort: 9000 } }), /httpsPort and mqttsPort are both 9000/);
    assert.doesNotThrow(() => resolveConfig({ flags: { mqttsPort: 0, httpsPort: 0, mqttPort: 0 } }));
  });

  it('loads a JSON file, resolving its relative data dir against the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thingcore-config-'));
    try {
      const path = join(dir, 'thingcore.json');
      await writeFile(path, JSON.stringify({ dataDir: 'data', profile: 'mqtt', limits: { maxQueuedMessages: 5 } }));
      assert.deepEqual(await loadConfigFile(path), { dataDir: resolve(dir, 'data'), profile: 'mqtt', limits: { maxQueuedMessages: 5 } });
      await writeFile(path, '{ not json');
      await assert.rejects(loadConfigFile(path), /not valid JSON/);
      await assert.rejects(loadConfigFile(join(dir, 'missing.json')), /cannot read the config file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has no rules settings by default', () => {
    assert.deepEqual(resolveConfig({ cwd: '/srv' }).rules, {});
  });

  it('loads the rules section, resolving local function modules against the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thingcore-config-'));
    try {
      await writeFile(join(dir, 'fn.mjs'), 'export async function handler() {}\n');
      const path = join(dir, 'thingcore.json');
      const rules = {
        localFunctions: { 'arn:aws:lambda:us-east-1:000000000000:function:notify': 'fn.mjs', other: '/abs/other.mjs' },
        lambdaEndpoint: 'http://127.0.0.1:3001',
        dynamoDbEndpoint: 'http://127.0.0.1:8000',
        lambdaTimeoutMs: 5000,
        lambdaMemoryMb: 256,
      };
      await writeFile(path, JSON.stringify({ rules }));
      const loaded = await loadConfigFile(path);
      assert.deepEqual(loaded.rules, {
        ...rules,
        localFunctions: { 'arn:aws:lambda:us-east-1:000000000000:function:notify': join(dir, 'fn.mjs'), other: '/abs/other.mjs' },
      });
      // The module must exist: a missing one is reported when the configuration is resolved.
      assert.throws(() => resolveConfig({ file: loaded, cwd: '/elsewhere' }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems, ['rules.localFunctions["other"]: no such file /abs/other.mjs']);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lets --local-function (relative to the cwd) win over the file, key by key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'thingcore-config-'));
    try {
      for (const f of ['a.mjs', 'b.mjs', 'c.mjs']) await writeFile(join(dir, f), 'export async function handler() {}\n');
      const flags = parseConfigInput({ rules: { localFunctions: ['notify=b.mjs', 'arn:aws:lambda:us-east-1:000000000000:function:x=c.mjs'] } }, 'flags');
      const file = { rules: { localFunctions: { notify: join(dir, 'a.mjs'), keep: join(dir, 'a.mjs') }, lambdaTimeoutMs: 100 } };
      const config = resolveConfig({ flags, file, cwd: dir });
      assert.deepEqual(config.rules, {
        localFunctions: {
          notify: join(dir, 'b.mjs'),
          keep: join(dir, 'a.mjs'),
          'arn:aws:lambda:us-east-1:000000000000:function:x': join(dir, 'c.mjs'),
        },
        lambdaTimeoutMs: 100,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('validates the rules section, unknown keys included', () => {
    assert.throws(
      () =>
        parseConfigInput(
          {
            rules: {
              localFunction: {},
              localFunctions: { 'not a name': 'x.mjs', ok: '' },
              lambdaEndpoint: 'localhost:3001',
              dynamoDbEndpoint: 8000,
              lambdaTimeoutMs: 0,
              lambdaMemoryMb: '1g',
            },
          },
          'f',
        ),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems, [
          'unknown setting "rules.localFunction" (known: localFunctions, lambdaEndpoint, dynamoDbEndpoint, lambdaTimeoutMs, lambdaMemoryMb)',
          'rules.localFunctions: "not a name" is neither a Lambda function ARN nor a function name',
          'rules.localFunctions["ok"] must be a non-empty module path (got "")',
          'rules.lambdaEndpoint must be an http:// or https:// URL (got "localhost:3001")',
          'rules.dynamoDbEndpoint must be an http:// or https:// URL (got 8000)',
          'rules.lambdaTimeoutMs must be an integer from 1 to 900000 (got 0)',
          'rules.lambdaMemoryMb must be an integer from 16 to 10240 (got "1g")',
        ]);
        return true;
      },
    );
    assert.throws(() => parseConfigInput({ rules: [] }, 'f'), /rules must be an object/);
    assert.throws(() => parseConfigInput({ rules: { localFunctions: 'fn.mjs' } }, 'f'), /rules.localFunctions must be an object/);
    assert.throws(() => parseConfigInput({ rules: { localFunctions: ['fn.mjs'] } }, 'f'), /<function-arn-or-name>=<module path> \(got "fn.mjs"\)/);
  });
});
