/**
 * Where topic rules meet the broker: one consumer feeds the rule engine, republish publishes as the
 * server, and SQL functions reach the shadow service and the Lambda invoker.
 *
 *   client PUBLISH t ─▶ broker route (subscribers first) ─▶ consumer (once per message, next turn)
 *     ─▶ RuleEngine.consume(message, publisher)   (the broker's objects as they are; hops via hopsOf)
 *        ─▶ actions: republish ─▶ deps.publish ─▶ broker.publish (hops + 1 remembered for its payload)
 *
 * The engine registers the consumer on every distinct FROM filter of its enabled rules, plus
 * `$aws/rules/#` (Basic Ingest: in the aws profile a `$` topic is accepted from a client only when
 * a consumer matches it). The broker calls a consumer once per matching registration, so a message
 * matching two filters arrives twice in a row: the repeat is dropped here by identity.
 *
 * Republish hops: a message published by a rule carries how many rule republishes led to it. The
 * broker's message has no field for it, so the count is a symbol-keyed property of the payload
 * Buffer (the broker passes the very Buffer to its consumers), read back when the message reaches
 * the consumer. A Buffer is counted once: one already counted is copied before publishing.
 *
 * Decisions: wills reach rules like any message (AWS runs rules on Last Will messages); the
 * principal of an anonymous client is not passed (principal() is Undefined).
 */
import type { Broker, ClientInfo, Logger, Message } from '../mqtt/index.js';
import {
  actionFactories,
  createLambdaInvoker,
  createRuleService,
  RuleEngine,
} from '../rules/index.js';
import type { ActionsConfig, LambdaInvoker, RepublishMessage, RuleService } from '../rules/index.js';
import type { ShadowService } from '../shadow/index.js';
import type { AccountScope } from '../shared/index.js';
import type { Store } from '../store/index.js';

export interface StartRulesOptions {
  readonly broker: Pick<Broker, 'addConsumer' | 'publish'>;
  readonly store: Pick<Store, 'rules' | 'tags'>;
  readonly scope: AccountScope;
  readonly logger: Logger;
  /** get_thing_shadow(); absent: the function fails. */
  readonly shadows?: Pick<ShadowService, 'get'>;
  /** The outside world of the actions (local Lambda functions, endpoints); default: only the region. */
  readonly actionsConfig?: ActionsConfig;
  /** Republish hops past which a message is dropped; default 8. */
  readonly maxHops?: number;
  /** Default per-action timeout; default 10 s (http and lambda get their own, longer ones). */
  readonly actionTimeoutMs?: number;
  /** Interval of the per-rule metrics log line; default 60 s; 0 = off. */
  readonly metricsLogIntervalMs?: number;
}

export interface RunningRules {
  readonly service: RuleService;
  readonly engine: RuleEngine;
  /** Stops consuming, waits briefly for actions in progress, closes them. Idempotent. */
  close(): Promise<void>;
}

export async function startRules(options: StartRulesOptions): Promise<RunningRules> {
  const { broker, logger } = options;
  const config: ActionsConfig = options.actionsConfig ?? { awsRegion: options.scope.region };
  let closing = false;

  const actionDeps = {
    config,
    logger,
    publish: (m: RepublishMessage): Promise<void> => {
      if (closing) return Promise.reject(new Error('the server is shutting down'));
      // One count per Buffer: a Buffer already counted (one rule output republished by two of its
      // actions) is copied, so no count is ever overwritten; an empty one is never shared.
      const payload = m.payload.length === 0 ? Buffer.alloc(0) : hopsOf(m.payload) === 0 ? m.payload : Buffer.from(m.payload);
      (payload as Tagged)[HOPS] = m.hops;
      const properties =
        m.payloadFormatIndicator === undefined ? m.properties : { ...m.properties, payloadFormatIndicator: m.payloadFormatIndicator };
      return broker.publish({
        topic: m.topic,
        payload,
        qos: m.qos,
        ...(m.retain === undefined ? {} : { retain: m.retain }),
        ...(properties === undefined ? {} : { properties }),
        ...(m.messageExpiryIntervalSec === undefined ? {} : { messageExpiryIntervalSec: m.messageExpiryIntervalSec }),
      });
    },
  };

  let lambda: LambdaInvoker | undefined;
  const shadows = options.shadows;
  const engine = new RuleEngine({
    logger,
    accountId: options.scope.accountId,
    // Basic Ingest topics go to the rules engine alone (AWS: they bypass the broker and cannot be
    // subscribed); a rule's FROM filter only listens, so it does not open a `$` topic to publishers.
    subscribe: (filter) =>
      broker.addConsumer(filter, consumer, filter === '$aws/rules/#' ? { exclusive: true } : { ownsTopic: false }),
    hopsOf,
    hooks: {
      ...(shadows === undefined ? {} : { getThingShadow: (thingName, shadowName) => readShadow(shadows, thingName, shadowName) }),
      invokeLambda: (functionArn, payload) => (lambda ??= createLambdaInvoker(config, logger)).invoke(functionArn, payload),
    },
    ...(options.maxHops === undefined ? {} : { maxHops: options.maxHops }),
    ...(options.actionTimeoutMs === undefined ? {} : { actionTimeoutMs: options.actionTimeoutMs }),
    actionTimeoutMsByType: { http: 15_000, lambda: Math.max(10_000, (config.lambdaTimeoutMs ?? 3000) + 5000) },
    ...(options.metricsLogIntervalMs === undefined ? {} : { metricsLogIntervalMs: options.metricsLogIntervalMs }),
  });

  // Declared after the engine (whose constructor already subscribes): only called on later turns.
  let last: Message | undefined;
  function consumer(message: Message, publisher: ClientInfo | undefined): void {
    if (message === last) return; // the same message through a second matching filter
    last = message;
    engine.consume(message, publisher);
  }

  const service = createRuleService({
    store: options.store,
    scope: options.scope,
    engine,
    factories: actionFactories(),
    actionDeps,
    logger,
  });
  try {
    await service.start();
  } catch (err: unknown) {
    await engine.close(0);
    throw err;
  }

  let closed: Promise<void> | undefined;
  return {
    service,
    engine,
    close() {
      closed ??= (async () => {
        await engine.close();
        closing = true;
        await lambda?.close();
      })();
      return closed;
    },
  };
}

/**
 * The republish hop count travels as a symbol-keyed property of the payload Buffer: the broker hands
 * consumers the very Buffer it was given, and a property costs nothing to the garbage collector
 * (a WeakMap of every republished payload does, heavily). [ask: a `hops` field on the broker's
 * ServerMessage/Message would make this unnecessary.]
 */
const HOPS: unique symbol = Symbol('thingcore.rules.hops');
type Tagged = Buffer & { [HOPS]?: number };

function hopsOf(payload: Buffer): number {
  return (payload as Tagged)[HOPS] ?? 0;
}

async function readShadow(shadows: Pick<ShadowService, 'get'>, thingName: string, shadowName: string | undefined): Promise<unknown> {
  const result = await shadows.get(thingName, shadowName, Buffer.alloc(0));
  if (result.ok) return JSON.parse(result.body.toString('utf8')) as unknown;
  if (result.error.code === 404) return undefined;
  throw new Error(`get_thing_shadow('${thingName}'${shadowName === undefined ? '' : `, '${shadowName}'`}): ${result.error.code} ${result.error.message}`);
}
