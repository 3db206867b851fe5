// Starts the real server (core's startServer) on port 0 in a temporary data directory, and makes
// MQTT.js clients for its TCP, mutual-TLS and WSS endpoints.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { pino } from 'pino';
import { resolveConfig, startServer } from '../../../src/core/index.js';
import type { ConfigInput, Endpoints, RunningServer } from '../../../src/core/index.js';
import { issueClientCertificate } from '../../../src/identity/index.js';
import type { CertificateAuthority, IssuedCertificate } from '../../../src/identity/index.js';

export interface TestServerOptions {
  readonly profile?: 'aws' | 'mqtt';
  /** Plain MQTT on and anonymous clients allowed; default true. */
  readonly dev?: boolean;
  /** Anything else a config file could set. */
  readonly config?: ConfigInput;
}

export interface TestServer {
  readonly server: RunningServer;
  readonly endpoints: Endpoints;
  readonly dataDir: string;
  readonly ca: CertificateAuthority;
  close(): Promise<void>;
}

/** Set THINGCORE_TEST_LOG_LEVEL=debug to see the server's logs. */
const logLevel = process.env['THINGCORE_TEST_LOG_LEVEL'] ?? 'silent';

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'thingcore-it-'));
  const dev = options.dev ?? true;
  const config = resolveConfig({
    flags: {
      ...options.config,
      dataDir,
      host: '127.0.0.1',
      mqttsPort: 0,
      httpsPort: 0,
      ...(dev && { mqttPort: 0 }),
      profile: options.profile ?? 'aws',
      dev,
    },
    env: {},
  });
  let server: RunningServer;
  try {
    server = await startServer(config, { logger: pino({ level: logLevel }), closeGraceMs: 500 });
  } catch (err: unknown) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    server,
    endpoints: server.endpoints,
    dataDir,
    ca: server.ca,
    close() {
      closed ??= server.close().finally(() => rm(dataDir, { recursive: true, force: true }));
      return closed;
    },
  };
}

export type Transport = 'tcp' | 'tls' | 'wss';

export interface ClientOptions extends IClientOptions {
  /** Mutual TLS: the client certificate and key to present; default a fresh one from our CA. */
  readonly certificate?: { readonly certificatePem: string; readonly privateKeyPem: string } | null;
}

/**
 * A client certificate issued by the test server's CA and registered ACTIVE (mutual TLS accepts only
 * registered ACTIVE certificates) with the allow-all test policy attached (IoT policies govern
 * certificate clients); `register: false` leaves it unregistered, `policy: false` without a policy.
 */
export async function issueDeviceCertificate(
  ts: TestServer,
  commonName = 'test-device',
  options: { readonly register?: boolean; readonly policy?: boolean } = {},
): Promise<IssuedCertificate> {
  const issued = await issueClientCertificate(ts.ca, { commonName });
  if (options.register !== false) {
    const { certificateArn } = await ts.server.identity.registerCertificate({ certificatePem: issued.certificatePem, setAsActive: true });
    if (options.policy !== false) await allowEverything(ts, certificateArn);
  }
  return issued;
}

/** The name of the policy `allowEverything` attaches: `iot:*` on `*`. */
export const allowAllTestPolicy = 'thingcore-test-allow-all';

/** Attaches the allow-all test policy (created on first use) to a certificate ARN. */
export async function allowEverything(ts: TestServer, certificateArn: string): Promise<void> {
  const policies = ts.server.policies;
  try {
    await policies.getPolicy(allowAllTestPolicy);
  } catch {
    const policyDocument = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iot:*', Resource: '*' }] });
    await policies.createPolicy({ policyName: allowAllTestPolicy, policyDocument }).catch(() => undefined);
  }
  await policies.attachPolicy({ policyName: allowAllTestPolicy, target: certificateArn });
}

/** The URL and TLS options for one transport. */
export async function clientTarget(
  ts: TestServer,
  transport: Transport,
  certificate: ClientOptions['certificate'],
): Promise<{ url: string; options: IClientOptions }> {
  switch (transport) {
    case 'tcp': {
      const mqtt = ts.endpoints.mqtt;
      if (mqtt === undefined) throw new Error('plain MQTT is off on this test server (dev: false)');
      return { url: `mqtt://127.0.0.1:${mqtt.port}`, options: {} };
    }
    case 'tls': {
      const cert = certificate === undefined ? await issueDeviceCertificate(ts) : certificate;
      return {
        url: `mqtts://localhost:${ts.endpoints.mqtts.port}`,
        options: {
          ca: ts.ca.certificatePem,
          servername: 'localhost',
          ...(cert !== null && { cert: cert.certificatePem, key: cert.privateKeyPem }),
        },
      };
    }
    case 'wss':
      return { url: `wss://localhost:${ts.endpoints.https.port}/mqtt`, options: { ca: ts.ca.certificatePem } };
  }
}

/**
 * Connects with MQTT.js and resolves once CONNACK accepted; rejects on a refusal, an error, or the
 * connection closing first (mqtt.js's connectAsync would hang on a bare close). Never reconnects.
 */
export async function connectClient(ts: TestServer, transport: Transport, options: ClientOptions = {}): Promise<MqttClient> {
  const { certificate, ...rest } = options;
  const target = await clientTarget(ts, transport, certificate);
  const client = connect(target.url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...target.options,
    ...rest,
  });
  return new Promise<MqttClient>((resolve, reject) => {
    const fail = (err: Error): void => {
      cleanup();
      client.end(true);
      reject(err);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(client);
    };
    const onError = (err: Error): void => fail(err);
    const onClose = (): void => fail(new Error('connection closed before CONNACK'));
    const cleanup = (): void => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

/** Ends a client and waits until it is closed. */
export function endClient(client: MqttClient, force = false): Promise<void> {
  return new Promise((resolve) => client.end(force, {}, () => resolve()));
}

/** Resolves with the next message on `topic` (or matching `predicate`) within `timeoutMs`. */
export function nextMessage(
  client: MqttClient,
  predicate: (topic: string, payload: Buffer) => boolean,
  timeoutMs = 5000,
): Promise<{ topic: string; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no matching message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (topic: string, payload: Buffer): void => {
      if (!predicate(topic, payload)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ topic, payload });
    };
    client.on('message', onMessage);
  });
}
