/**
 * The composition root: opens the store, loads the CA and server certificate, builds the broker
 * with AWS semantics plugged into its hooks (authentication, lifecycle events), starts the
 * listeners, and shuts everything down in order. This file is where AWS meets MQTT.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createBroker } from '../mqtt/index.js';
import type { Broker } from '../mqtt/index.js';
import { openSqliteStore } from '../store/index.js';
import type { Store } from '../store/index.js';
import { createIdentityService, loadOrCreateCa, loadOrCreateServerCertificate } from '../identity/index.js';
import type { CertificateAuthority, IdentityService } from '../identity/index.js';
import { listenHttp, listenHttps, listenTcp, listenTls } from '../transport/index.js';
import {
  certificateRoutes,
  createApi,
  dataPlaneRoutes,
  loadOrCreateAdminCredentials,
  policyRoutes,
  ruleRoutes,
  shadowRoutes,
  staticAccessKeys,
  tagRoutes,
  thingRoutes,
} from '../api/index.js';
import type { Api } from '../api/index.js';
import { createRegistryService } from '../registry/index.js';
import type { RegistryService } from '../registry/index.js';
import { createPolicyService } from '../policy/index.js';
import type { PolicyService } from '../policy/index.js';
import { createTaggingService } from '../tagging/index.js';
import type { ConnectionHandler, ListenerHandle, RequestHandler } from '../transport/index.js';
import type { ServerConfig } from './config.js';
import { createAuthenticator, watchCertificateStatus } from './authenticate.js';
import { createAuthorization } from './authorization.js';
import { createLifecycleEvents } from './lifecycle-events.js';
import { startShadows } from './shadow-wiring.js';
import { startRules } from './rules-wiring.js';
import type { RuleService } from '../rules/index.js';
import type { ShadowService } from '../shadow/index.js';
import type { LifecycleEvents } from './lifecycle-events.js';
import { createLogger } from './logger.js';
import type { ServerLogger } from './logger.js';
import { removeEndpoints, urlHost, writeEndpoints } from './endpoints.js';
import type { Endpoints } from './endpoints.js';

export const databaseFile = 'thingcore.db';

export interface StartServerOptions {
  /** Default: pino JSON on stdout at config.logLevel. */
  readonly logger?: ServerLogger;
  /** Plain HTTP requests on the API ports (api/ plugs in here); default: /health and 404s. */
  readonly onRequest?: RequestHandler;
  /** How long connections may take to end at shutdown before they are cut; default 2000 ms. */
  readonly closeGraceMs?: number;
}

export interface RunningServer {
  readonly broker: Broker;
  readonly endpoints: Endpoints;
  /** Absolute path. */
  readonly dataDir: string;
  readonly config: ServerConfig;
  readonly ca: CertificateAuthority;
  /** Certificates and CA certificates (register, change status, authenticate). */
  readonly identity: IdentityService;
  readonly logger: ServerLogger;
  /** The AWS-shaped HTTP API served on the HTTPS (and HTTP) port. */
  readonly api: Api;
  readonly registry: RegistryService;
  /** Device shadows (the service behind the MQTT reserved topics and the HTTP data plane). */
  readonly shadows: ShadowService;
  /** IoT policies (the service behind the policy API and the broker's authorization). */
  readonly policies: PolicyService;
  /** Topic rules (the service behind the rule API; its engine consumes the broker's messages). */
  readonly rules: RuleService;
  /**
   * Stops accepting, closes the broker (clients disconnected, wills sent, sessions flushed), closes
   * the listeners and the store. Idempotent.
   */
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig, options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const dataDir = config.dataDir;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await removeEndpoints(dataDir);

  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanUp = async (): Promise<void> => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (err: unknown) {
        logger.error({ err }, 'shutdown step failed');
      }
    }
  };

  try {
    const store: Store = openSqliteStore({ path: join(dataDir, databaseFile) });
    cleanups.push(() => store.close());

    // Policies: `identity`, `authorization` and the admin key come below; these callbacks only run
    // later, on API calls.
    const adminKey: { accessKeyId?: string } = {};
    const policies: PolicyService = createPolicyService({
      store,
      scope: { region: config.region, accountId: config.accountId },
      logger: logger.child({ room: 'policy' }),
      certificateExists: (certificateArn) => identity.certificateExists(certificateArn),
      connectionContext: (principal, clientId) => authorization.connectionContext(principal, clientId),
      allowsEverything: (principal) => principal === adminKey.accessKeyId,
    });

    const ca = await loadOrCreateCa(dataDir);
    const serverCertificate = await loadOrCreateServerCertificate(dataDir, ca, config.hostNames);
    // `registry` is created below; isAttached only runs later, on DeleteCertificate.
    const identity: IdentityService = createIdentityService({
      store,
      ca,
      scope: { region: config.region, accountId: config.accountId },
      logger: logger.child({ room: 'identity' }),
      isAttached: async (certificateArn) => (await registry.listPrincipalThings({ principal: certificateArn, maxResults: 1 })).things.length > 0,
      hasAttachedPolicies: (certificateArn) => policies.hasAttachedPolicies(certificateArn),
    });
    logger.info(
      { caCertificateId: ca.certificateId, hostNames: serverCertificate.hostNames, issued: serverCertificate.issued },
      serverCertificate.issued ? 'issued the server certificate' : 'using the server certificate',
    );

    const listeners: ListenerHandle[] = [];
    const listen = async (start: () => Promise<ListenerHandle>, name: string, port: number): Promise<ListenerHandle> => {
      try {
        const handle = await start();
        listeners.push(handle);
        return handle;
      } catch (err: unknown) {
        const code = err instanceof Error && 'code' in err ? String(err.code) : '';
        const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : 'listen failed';
        throw new Error(`cannot listen for ${name} on ${config.host}:${port}: ${why}`, { cause: err });
      }
    };
    const closeGraceMs = options.closeGraceMs ?? 2000;
    let listenersClosed: Promise<unknown> | undefined;
    const stopAccepting = (): Promise<unknown> =>
      (listenersClosed ??= Promise.all(listeners.map((l) => l.close({ graceMs: closeGraceMs }))));
    // Shutdown runs these steps in reverse: stop accepting, close the broker (it disconnects everyone),
    // then wait for the listeners to be empty.
    cleanups.push(() => stopAccepting().then(() => undefined));

    // Assigned once the broker exists; lifecycle events can only fire after that.
    let broker: Broker | undefined = undefined;
    let api: Api | undefined = undefined;
    let closing = false;
    const lifecycle: LifecycleEvents = createLifecycleEvents({
      publish: (message) => {
        // During shutdown the broker may refuse publishes; nobody is left to receive them anyway.
        if (broker === undefined) return Promise.resolve();
        return closing ? broker.publish(message).catch(() => undefined) : broker.publish(message);
      },
      logger: logger.child({ room: 'core', component: 'lifecycle-events' }),
    });
    cleanups.push(() => lifecycle.close());

    // IoT policies on the broker's decisions (authorization.ts). `registry` is created below; it is
    // first asked at a CONNECT, once the listeners are up.
    const authorization = createAuthorization({
      policies,
      identity,
      registry: { thingForConnection: (p, c) => registry.thingForConnection(p, c), onChange: (l) => registry.onChange(l) },
      scope: { region: config.region, accountId: config.accountId },
      dev: config.dev,
      anonymousPolicy: config.anonymousPolicy,
      isAdminAccessKey: (accessKeyId) => accessKeyId === adminKey.accessKeyId,
      logger: logger.child({ room: 'core', component: 'authorization' }),
    });

    broker = await createBroker({
      options: config.broker,
      hooks: {
        ...authorization.hooks,
        authenticate: authorization.authenticate(createAuthenticator({
          identity,
          dev: config.dev,
          logger: logger.child({ room: 'core', component: 'authenticate' }),
          // The API (and so the SigV4 verifier) is built after the broker: bound late.
          verifyWebSocket: (request) => {
            if (api === undefined) return { ok: false, message: 'the server is starting' };
            const r = api.verify({ method: 'GET', url: request.url, rawHeaders: request.rawHeaders });
            return r.ok ? { ok: true, accessKeyId: r.accessKeyId } : { ok: false, message: r.message };
          },
        })),
        onEvent: (event) => {
          authorization.onEvent(event);
          lifecycle.onEvent(event);
        },
      },
      store: { sessions: store.sessions, retained: store.retained },
      logger: logger.child({ room: 'mqtt' }),
    });
    const running = broker;
    cleanups.push(() => running.close());
    // Device shadows on the reserved $aws/things/+/shadow/… request topics (closed before the broker).
    const shadows = startShadows({ broker: running, store, logger: logger.child({ room: 'shadow' }), mayAct: authorization.mayAct });
    cleanups.push(() => shadows.close());
    // Topic rules: the engine consumes the broker's messages, shadow documents included (closed before the broker).
    const scopeOfRules = { region: config.region, accountId: config.accountId };
    const actionsConfig = { awsRegion: config.region, ...config.rules };
    const rules = await startRules({ broker: running, store, scope: scopeOfRules, shadows: shadows.service, actionsConfig, logger: logger.child({ room: 'rules' }) });
    cleanups.push(() => rules.close());
    cleanups.push(watchCertificateStatus(running, identity, logger.child({ room: 'core', component: 'authenticate' })));

    // The AWS-shaped API (control and data plane) on the HTTPS/HTTP ports, SigV4 against the admin key.
    const scope = { region: config.region, accountId: config.accountId };
    const registry = createRegistryService({
      store,
      scope,
      logger: logger.child({ room: 'registry' }),
      // Attaching an unregistered certificate is ResourceNotFoundException, as in AWS.
      principalExists: async (p) => !p.startsWith('arn:') || identity.certificateExists(p),
    });
    cleanups.push(authorization.start(running));
    // Tags of every resource above; the store drops a resource's tags with the resource.
    const tagging = createTaggingService({ store, scope });
    const admin = await loadOrCreateAdminCredentials(dataDir);
    adminKey.accessKeyId = admin.accessKeyId;
    let mqttsPort = 0;
    api = await createApi({
      logger: logger.child({ room: 'api' }),
      credentials: staticAccessKeys([admin]),
      routes: [
        thingRoutes(registry),
        certificateRoutes(identity),
        shadowRoutes(shadows.service, shadows.publish),
        policyRoutes(policies),
        ruleRoutes(rules.service),
        tagRoutes(tagging),
        dataPlaneRoutes(running, config.broker.limits),
      ],
      endpoint: () => ({ host: advertisedHost(config), port: mqttsPort }),
    });
    cleanups.push(() => api.close());
    const onRequest: RequestHandler = options.onRequest ?? api.handle;

    const transportLogger = logger.child({ room: 'transport' });
    const onConnection: ConnectionHandler = (stream, peer) => running.accept(stream, peer);
    const tls = { key: serverCertificate.privateKeyPem, cert: serverCertificate.certificatePem, ca: ca.certificatePem };
    // The WebSocket frame limit only guards memory; the codec enforces maxPacketBytes exactly.
    const maxMessageBytes = Math.max(1024 * 1024, config.broker.limits.maxPacketBytes + 1024);
    const mqtts = await listen(
      () => listenTls({ host: config.host, port: config.mqttsPort, ...tls, requestCert: true, rejectUnauthorized: false, onConnection, logger: transportLogger }),
      'MQTT over TLS',
      config.mqttsPort,
    );
    const https = await listen(
      () =>
        listenHttps({
          host: config.host,
          port: config.httpsPort,
          key: tls.key,
          cert: tls.cert,
          onConnection,
          maxMessageBytes,
          logger: transportLogger,
          onRequest,
          // MQTT over WebSocket needs a SigV4-presigned URL (spec/mqtt.md section 1), except under --dev
          ...(config.dev ? {} : { verifyUpgrade: (req: Parameters<Api['verifyUpgrade']>[0]) => api.verifyUpgrade(req) }),
        }),
      'HTTPS',
      config.httpsPort,
    );
    const mqtt =
      config.mqttPort === null
        ? undefined
        : await listen(() => listenTcp({ host: config.host, port: config.mqttPort ?? 0, onConnection, logger: transportLogger }), 'MQTT', config.mqttPort);
    const http =
      config.httpPort === null
        ? undefined
        : await listen(
            () =>
              listenHttp({
                host: config.host,
                port: config.httpPort ?? 0,
                onConnection,
                maxMessageBytes,
                logger: transportLogger,
                onRequest,
                ...(config.dev ? {} : { verifyUpgrade: (req: Parameters<Api['verifyUpgrade']>[0]) => api.verifyUpgrade(req) }),
              }),
            'HTTP',
            config.httpPort,
          );

    mqttsPort = mqtts.port;
    const host = advertisedHost(config);
    const endpoints: Endpoints = {
      mqtts: { host, port: mqtts.port },
      https: { host, port: https.port },
      ...(mqtt !== undefined && { mqtt: { host, port: mqtt.port } }),
      ...(http !== undefined && { http: { host, port: http.port } }),
      ws: `wss://${urlHost(host)}:${https.port}/mqtt`,
    };
    cleanups.push(() => {
      closing = true;
      void stopAccepting();
    });
    await writeEndpoints(dataDir, endpoints);
    cleanups.push(() => removeEndpoints(dataDir));
    logListening(logger, endpoints, config);

    let closed: Promise<void> | undefined;
    return {
      broker: running,
      endpoints,
      dataDir,
      config,
      ca,
      identity,
      logger,
      api,
      registry,
      shadows: shadows.service,
      policies,
      rules: rules.service,
      close(): Promise<void> {
        closed ??= (async () => {
          logger.info({}, 'shutting down');
          await cleanUp();
          logger.info({}, 'stopped');
        })();
        return closed;
      },
    };
  } catch (err: unknown) {
    await cleanUp();
    throw err;
  }
}

/** The host clients should use: the bind address, or the first host name when bound to all interfaces. */
function advertisedHost(config: ServerConfig): string {
  const unspecified = config.host === '0.0.0.0' || config.host === '::' || config.host === '[::]';
  return unspecified ? (config.hostNames[0] ?? 'localhost') : config.host;
}

function logListening(logger: ServerLogger, endpoints: Endpoints, config: ServerConfig): void {
  const urls = [
    `mqtts://${urlHost(endpoints.mqtts.host)}:${endpoints.mqtts.port}`,
    `https://${urlHost(endpoints.https.host)}:${endpoints.https.port}`,
    endpoints.ws,
    ...(endpoints.mqtt ? [`mqtt://${urlHost(endpoints.mqtt.host)}:${endpoints.mqtt.port}`] : []),
    ...(endpoints.http ? [`http://${urlHost(endpoints.http.host)}:${endpoints.http.port}`, `ws://${urlHost(endpoints.http.host)}:${endpoints.http.port}/mqtt`] : []),
  ];
  for (const url of urls) logger.info({ url }, `listening on ${url}`);
  logger.info(
    { endpoints, dataDir: config.dataDir, profile: config.profile, dev: config.dev, region: config.region, accountId: config.accountId },
    'thingcore ready',
  );
  if (config.dev) logger.warn({}, 'dev mode: anonymous plain-MQTT and WebSocket clients may do everything');
}
