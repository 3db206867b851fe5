/**
 * Where device shadows meet the broker (spec/shadow.md 2): the shadow service consumes the reserved
 * request topics and its replies are published as the server.
 *
 *   client PUBLISH $aws/things/t/shadow[/name/s]/{get,update,delete}
 *     → broker consumer (once per message, off the delivery path)
 *     → mayAct(client, op, t, s)?  no → …/{op}/rejected 401 Unauthorized
 *     → ShadowService.{get,update,delete}(t, s, payload)   (accepted only once durable)
 *     → broker.publish each reply, QoS 1, in order: …/accepted, …/update/delta, …/update/documents
 *       (or …/rejected); the broker delivers them to whoever subscribed, requester or not (2.1).
 *
 * Replies are published at QoS 1, so each subscriber's granted QoS decides (spec/shadow.md 11.8),
 * never retained. The replies of one request are handed to the broker in one synchronous run
 * (Broker.publish routes before its first await), so they are routed in order; and because the
 * service answers one shadow's requests in arrival order, so are the replies of successive requests.
 *
 * Authorization hook: MQTT shadow access is authorised as iot:Publish on the request topic by the
 * broker's authorizePublish (policy/), before a message ever reaches this consumer. `mayAct` is the
 * extra, per-operation check for later needs; absent, everything the broker let through is served.
 *
 * Wills: a will message on a shadow request topic still reaches subscribers and rules, but the
 * shadow service does not act on it (spec/shadow.md 2.1, spec/mqtt.md 8): the broker marks wills
 * (`Message.isWill`) and this consumer drops them.
 */
import type { Broker, ClientInfo, Logger, Message } from '../mqtt/index.js';
import { createShadowService, parseShadowRequestTopic, shadowRequestFilters, ShadowErrors } from '../shadow/index.js';
import type { ShadowOperation, ShadowReply, ShadowResult, ShadowService, ShadowServiceOptions } from '../shadow/index.js';
import type { ShadowStore } from '../store/index.js';

/** May `client` (undefined: published by the server itself) perform `action` on this shadow? */
export type ShadowActionCheck = (
  client: ClientInfo | undefined,
  action: ShadowOperation,
  thingName: string,
  shadowName: string | undefined,
) => boolean | Promise<boolean>;

export interface ShadowWiringOptions {
  readonly broker: Pick<Broker, 'addConsumer' | 'publish'>;
  readonly shadows: ShadowService;
  readonly logger: Logger;
  /** Default: allow. A throw or rejection counts as a refusal. */
  readonly mayAct?: ShadowActionCheck;
}

export interface ShadowWiring {
  /** Stops consuming, and resolves once the requests already taken are answered. Idempotent. */
  close(): Promise<void>;
}

/** Subscribes the shadow service to the request topics (classic and named) and publishes its replies. */
export function wireShadows(options: ShadowWiringOptions): ShadowWiring {
  const { broker, shadows, logger, mayAct } = options;
  const pending = new Set<Promise<void>>();
  let closed = false;

  const serve = async (message: Message, client: ClientInfo | undefined): Promise<void> => {
    const request = parseShadowRequestTopic(message.topic);
    if (request === undefined) return;
    const { thingName, shadowName, operation } = request;
    let result: ShadowResult;
    if (mayAct !== undefined && !(await decide(mayAct, client, operation, thingName, shadowName, logger))) {
      result = shadows.refuse(operation, thingName, shadowName, message.payload, ShadowErrors.unauthorized);
    } else {
      result = await shadows[operation](thingName, shadowName, message.payload);
    }
    await publishReplies(broker, result.replies, logger, () => closed);
  };

  const consume = (message: Message, client: ClientInfo | undefined): void => {
    if (closed || message.isWill === true) return;
    const work = serve(message, client).catch((err: unknown) => {
      logger.error({ err, topic: message.topic }, 'shadow request failed');
    });
    pending.add(work);
    void work.then(() => pending.delete(work));
  };

  const removers = shadowRequestFilters.map((filter) => broker.addConsumer(filter, consume));
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        closed = true;
        for (const remove of removers) remove();
        while (pending.size > 0) await Promise.allSettled([...pending]);
      })();
      return closing;
    },
  };
}

/**
 * Hands `replies` to the broker in one synchronous run (so they are routed in order), at QoS 1,
 * never retained; resolves once all are routed. A failure is logged (unless `quiet()`), never thrown:
 * the operation behind the replies is already durable.
 */
export async function publishReplies(
  broker: Pick<Broker, 'publish'>,
  replies: readonly ShadowReply[],
  logger: Logger,
  quiet: () => boolean = () => false,
): Promise<void> {
  const published = replies.map((reply) => broker.publish({ topic: reply.topic, payload: reply.payload, qos: 1 }));
  const outcomes = await Promise.allSettled(published);
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'rejected' && !quiet()) {
      logger.error({ err: outcome.reason, topic: replies[i]?.topic }, 'publishing a shadow reply failed');
    }
  });
}

async function decide(
  mayAct: ShadowActionCheck,
  client: ClientInfo | undefined,
  operation: ShadowOperation,
  thingName: string,
  shadowName: string | undefined,
  logger: Logger,
): Promise<boolean> {
  try {
    return (await mayAct(client, operation, thingName, shadowName)) === true;
  } catch (err: unknown) {
    logger.error({ err, thingName, shadowName, operation }, 'shadow authorization failed; refusing');
    return false;
  }
}

export interface StartShadowsOptions {
  readonly broker: Pick<Broker, 'addConsumer' | 'publish'>;
  readonly store: { readonly shadows: ShadowStore };
  readonly logger: Logger;
  readonly mayAct?: ShadowActionCheck;
  /** Limits, history bounds, clock, thingExists … (ShadowServiceOptions without store and logger). */
  readonly service?: Omit<ShadowServiceOptions, 'store' | 'logger'>;
}

export interface RunningShadows {
  /** For the HTTP data plane (GetThingShadow, UpdateThingShadow, DeleteThingShadow, ListNamedShadowsForThing). */
  readonly service: ShadowService;
  /**
   * Publishes the replies of an operation served elsewhere (the HTTP data plane) exactly as the MQTT
   * path does: same QoS, same order, through the broker. Resolves once routed; never rejects.
   */
  publish(replies: readonly ShadowReply[]): Promise<void>;
  /** Stops consuming, answers what was taken, waits for the last commits. Idempotent. */
  close(): Promise<void>;
}

/** What compose.ts calls: builds the shadow service over the store and wires it to the broker. */
export function startShadows(options: StartShadowsOptions): RunningShadows {
  const service = createShadowService({ ...options.service, store: options.store, logger: options.logger });
  const wiring = wireShadows({
    broker: options.broker,
    shadows: service,
    logger: options.logger,
    ...(options.mayAct === undefined ? {} : { mayAct: options.mayAct }),
  });
  let closing: Promise<void> | undefined;
  return {
    service,
    publish: (replies) => publishReplies(options.broker, replies, options.logger, () => closing !== undefined),
    close() {
      closing ??= wiring.close().then(() => service.close());
      return closing;
    },
  };
}
