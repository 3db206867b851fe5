/**
 * The MQTT data plane over HTTP (spec/http-api.md 4, spec/mqtt.md 6, 7 and 11), SigV4-signed like
 * every other route:
 *
 *   Publish               POST   /topics/{topic}?qos=&retain=&contentType=&responseTopic=&messageExpiry=
 *                                headers x-amz-mqtt5-user-properties, -payload-format-indicator,
 *                                -correlation-data; body = the raw payload      → 200 empty
 *   GetRetainedMessage    GET    /retainedMessage/{topic}   → {topic, payload (base64), qos, lastModifiedTime (ms), userProperties?}
 *   ListRetainedMessages  GET    /retainedMessage?nextToken=&maxResults=(1-200)
 *                                → {retainedTopics: [{topic, payloadSize, qos, lastModifiedTime}], nextToken?}
 *   DeleteConnection      DELETE /connections/{clientId}?cleanSession=&preventWillMessage= → 200 empty
 *
 * Publish: qos 0 or 1 (else InvalidRequestException); a topic must be non-empty, wildcard-free and
 * within the broker's byte and level limits (IRE); reserved `$` topics other than the shadow ones
 * (`$aws/things/<name>/shadow/...`) are UnauthorizedException, and a retained publish to a `$` topic
 * is IRE (spec/mqtt.md 7). `retain=true` with an empty body deletes the topic's retained message
 * (the broker does that, and still delivers it to current subscribers). `messageExpiry` is clamped
 * to the broker's maximum and 0 becomes 1, as for an MQTT publish in the aws profile. User properties
 * are a JSON array of single-pair objects, base64-encoded (raw JSON is accepted too); every member of
 * each object becomes one [name, value] pair, in order.
 *
 * DeleteConnection: sends the client DISCONNECT 0x98 (Administrative action; core reports lifecycle
 * API_INITIATED_DISCONNECT), publishes its will unless `preventWillMessage=true`, and with
 * `cleanSession=true` ends its session (also when the client is offline with a persistent session).
 * 404 when the client id is neither connected nor holding a session; an id starting with `$` is 400.
 *
 * The broker arrives as a structural port (`DataPlaneBroker`; core passes the real one), so this
 * room stays free of mqtt/ imports.
 */
import { isUtf8 } from 'node:buffer';
// Not '../index.js': api/index.ts re-exports this module (see things.ts).
import { defineRoutes } from '../routing.js';
import type { RouteModule, RouteRequest } from '../routing.js';
import { readPage, takePage } from '../pagination.js';
import { validationError } from '../values.js';
import { AwsErrors } from '../../shared/index.js';

type Pair = readonly [string, string];

/** What the data plane needs from a retained message (the broker's Message satisfies it). */
export interface DataPlaneRetainedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  /** Wall-clock ms when the broker accepted the message. */
  readonly createdAtMs: number;
  readonly properties?: { readonly userProperties?: ReadonlyArray<Pair> };
}

/** A publish as the broker takes it (the broker's ServerMessage, narrowed to what HTTP can send). */
export interface DataPlanePublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  readonly properties?: {
    readonly payloadFormatIndicator?: boolean;
    readonly contentType?: string;
    readonly responseTopic?: string;
    readonly correlationData?: Buffer;
    readonly userProperties?: ReadonlyArray<Pair>;
  };
  readonly messageExpiryIntervalSec?: number;
}

/** The slice of mqtt/'s Broker the data plane uses; core passes the broker itself. */
export interface DataPlaneBroker {
  publish(message: DataPlanePublish): Promise<void>;
  retainedMessage(topic: string): DataPlaneRetainedMessage | undefined;
  retainedMessages(): Iterable<DataPlaneRetainedMessage>;
  clients(): Iterable<{ readonly clientId: string }>;
  hasSession(clientId: string): boolean;
  endSession(clientId: string): boolean;
  disconnectClients(
    select: (client: { readonly clientId: string }) => boolean,
    reasonCode: number,
    cause: 'administrative',
    options?: { readonly preventWill?: boolean; readonly cleanSession?: boolean },
  ): number;
}

/** The broker limits the data plane enforces itself (core passes config.broker.limits). */
export interface DataPlaneLimits {
  readonly maxTopicBytes: number;
  /** 0 = unlimited. */
  readonly maxTopicSlashes: number;
  /** Basic Ingest prefix whose next level is not counted in the topic limits; '' = none. */
  readonly exemptTopicPrefix: string;
  readonly maxPayloadBytes: number;
  /** 0 = no clamp. */
  readonly messageExpiryMaxSec: number;
  readonly maxClientIdBytes: number;
}

/** MQTT 5 reason code 0x98 Administrative action (core maps cause 'administrative' to API_INITIATED_DISCONNECT). */
const administrativeAction = 0x98;
const shadowTopic = /^\$aws\/things\/[^/]+\/shadow\//;
const base64Text = /^[A-Za-z0-9+/]*={0,2}$/;
const formatIndicators = ['UNSPECIFIED_BYTES', 'UTF8_DATA'] as const;

export function dataPlaneRoutes(broker: DataPlaneBroker, limits: DataPlaneLimits): RouteModule {
  return defineRoutes('data-plane', (r) => {
    r.post(
      '/topics/:topic+',
      async (req) => {
        const topic = checkTopic('topic', req.params.topic, limits);
        const qos = req.query.int('qos', { min: 0, max: 1 }) === 1 ? 1 : 0;
        const retain = req.query.bool('retain') ?? false;
        if (topic.startsWith('$')) {
          if (!shadowTopic.test(topic)) throw AwsErrors.unauthorized(`Publishing to the reserved topic ${topic} is not allowed`);
          if (retain) throw AwsErrors.invalidRequest('Retained messages are not allowed on reserved topics');
        }
        const payload = req.rawBody;
        if (payload.length > limits.maxPayloadBytes) {
          throw AwsErrors.invalidRequest(`The payload exceeds the maximum size of ${limits.maxPayloadBytes} bytes`);
        }
        const properties = publishProperties(req, payload, limits);
        const expiry = messageExpiry(req, limits);
        await broker.publish({
          topic,
          payload,
          qos,
          retain,
          ...(properties === undefined ? {} : { properties }),
          ...(expiry === undefined ? {} : { messageExpiryIntervalSec: expiry }),
        });
        return undefined;
      },
      { operation: 'Publish', body: 'raw' },
    );

    r.get(
      '/retainedMessage/:topic+',
      async (req) => {
        const topic = checkTopic('topic', req.params.topic, limits);
        const message = broker.retainedMessage(topic);
        if (message === undefined) throw AwsErrors.resourceNotFound(`No retained message exists for topic: ${topic}`);
        const userProperties = message.properties?.userProperties;
        return {
          topic: message.topic,
          payload: message.payload.toString('base64'),
          qos: message.qos,
          lastModifiedTime: message.createdAtMs,
          userProperties: userProperties === undefined ? undefined : encodeUserProperties(userProperties),
        };
      },
      { operation: 'GetRetainedMessage' },
    );

    r.get(
      '/retainedMessage',
      async (req) => {
        const page = readPage(req.query, { style: 'nextToken', scope: 'ListRetainedMessages', maxSize: 200 });
        const sorted = [...broker.retainedMessages()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
        const { items, next } = takePage(sorted, page, (m) => m.topic);
        return {
          retainedTopics: items.map((m) => ({ topic: m.topic, payloadSize: m.payload.length, qos: m.qos, lastModifiedTime: m.createdAtMs })),
          nextToken: next,
        };
      },
      { operation: 'ListRetainedMessages' },
    );

    r.delete(
      '/connections/:clientId',
      async (req) => {
        const clientId = req.params.clientId;
        if (clientId.startsWith('$')) throw validationError('clientId', clientId, "Member must not start with '$'");
        if (clientId === '' || Buffer.byteLength(clientId, 'utf8') > limits.maxClientIdBytes) {
          throw validationError('clientId', clientId, `Member must have length between 1 and ${limits.maxClientIdBytes}`);
        }
        const cleanSession = req.query.bool('cleanSession') ?? false;
        const preventWill = req.query.bool('preventWillMessage') ?? false;
        let connected = false;
        for (const client of broker.clients()) if (client.clientId === clientId) connected = true;
        if (!connected && !broker.hasSession(clientId)) {
          throw AwsErrors.resourceNotFound(`No connection or persistent session exists for client id: ${clientId}`);
        }
        if (connected) {
          broker.disconnectClients((c) => c.clientId === clientId, administrativeAction, 'administrative', { preventWill, cleanSession });
        }
        // Offline with a persistent session (or reconnected in between): end it all the same.
        if (cleanSession) broker.endSession(clientId);
        return undefined;
      },
      { operation: 'DeleteConnection' },
    );
  });
}

/** Non-empty, no wildcard or NUL, within the byte and level limits (the Basic Ingest prefix exempt). */
function checkTopic(name: string, topic: string, limits: DataPlaneLimits): string {
  if (topic === '') throw validationError(name, topic, 'Member must have length greater than or equal to 1');
  if (/[+#\u0000]/.test(topic)) throw AwsErrors.invalidRequest(`Invalid topic name ${topic}: a topic name must not contain '+', '#' or NUL`);
  let counted = topic;
  const prefix = limits.exemptTopicPrefix;
  if (prefix !== '' && topic.startsWith(prefix)) {
    const end = topic.indexOf('/', prefix.length);
    counted = end < 0 ? '' : topic.slice(end + 1);
  }
  if (Buffer.byteLength(counted, 'utf8') > limits.maxTopicBytes) {
    throw AwsErrors.invalidRequest(`Invalid topic name ${topic}: longer than ${limits.maxTopicBytes} bytes`);
  }
  const slashes = counted.split('/').length - 1;
  if (limits.maxTopicSlashes > 0 && slashes > limits.maxTopicSlashes) {
    throw AwsErrors.invalidRequest(`Invalid topic name ${topic}: more than ${limits.maxTopicSlashes} '/' separators`);
  }
  return topic;
}

function publishProperties(req: RouteRequest<unknown>, payload: Buffer, limits: DataPlaneLimits): DataPlanePublish['properties'] {
  const format = req.headers.string('x-amz-mqtt5-payload-format-indicator');
  let payloadFormatIndicator: boolean | undefined;
  if (format !== undefined) {
    if (!(formatIndicators as readonly string[]).includes(format)) {
      throw validationError('payloadFormatIndicator', format, `Member must satisfy enum value set: [${formatIndicators.join(', ')}]`);
    }
    payloadFormatIndicator = format === 'UTF8_DATA';
    if (payloadFormatIndicator && !isUtf8(payload)) throw AwsErrors.invalidRequest('The payload is not valid UTF-8 but payloadFormatIndicator is UTF8_DATA');
  }
  const contentType = req.query.string('contentType');
  const responseTopic = req.query.string('responseTopic');
  if (responseTopic !== undefined) checkTopic('responseTopic', responseTopic, limits);
  const correlation = req.headers.string('x-amz-mqtt5-correlation-data');
  let correlationData: Buffer | undefined;
  if (correlation !== undefined) {
    const text = correlation.trim();
    if (text.length % 4 !== 0 || !base64Text.test(text)) throw AwsErrors.invalidRequest('correlationData must be base64-encoded');
    correlationData = Buffer.from(text, 'base64');
  }
  const header = req.headers.string('x-amz-mqtt5-user-properties');
  const userProperties = header === undefined ? undefined : decodeUserProperties(header);
  const properties = {
    ...(payloadFormatIndicator === undefined ? {} : { payloadFormatIndicator }),
    ...(contentType === undefined ? {} : { contentType }),
    ...(responseTopic === undefined ? {} : { responseTopic }),
    ...(correlationData === undefined ? {} : { correlationData }),
    ...(userProperties === undefined || userProperties.length === 0 ? {} : { userProperties }),
  };
  return Object.keys(properties).length === 0 ? undefined : properties;
}

/** Seconds; negative is 400, above the maximum is clamped, 0 becomes 1 (spec/mqtt.md 12, aws profile). */
function messageExpiry(req: RouteRequest<unknown>, limits: DataPlaneLimits): number | undefined {
  const seconds = req.query.int('messageExpiry', { min: 0 });
  if (seconds === undefined) return undefined;
  const max = limits.messageExpiryMaxSec;
  return Math.max(1, max > 0 ? Math.min(seconds, max) : seconds);
}

/** base64 of `[{"name":"value"}, ...]` (or that JSON as is) → ordered pairs; 400 when malformed. */
function decodeUserProperties(header: string): Pair[] {
  const text = header.trim();
  const bad = (): Error => AwsErrors.invalidRequest('userProperties must be base64 of a JSON array of objects with string values');
  const json = text.startsWith('[') ? text : base64Text.test(text) ? Buffer.from(text, 'base64').toString('utf8') : undefined;
  if (json === undefined) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed)) throw bad();
  const pairs: Pair[] = [];
  for (const entry of parsed as unknown[]) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad();
    for (const [name, value] of Object.entries(entry)) {
      if (typeof value === 'string') pairs.push([name, value]);
      else if (typeof value === 'number' || typeof value === 'boolean') pairs.push([name, String(value)]);
      else throw bad();
    }
  }
  return pairs;
}

/** Ordered pairs → base64 of `[{"name":"value"}, ...]`, as GetRetainedMessage answers them. */
function encodeUserProperties(pairs: ReadonlyArray<Pair>): string {
  return Buffer.from(JSON.stringify(pairs.map(([name, value]) => ({ [name]: value }))), 'utf8').toString('base64');
}
