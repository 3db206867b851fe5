/**
 * Broker profiles and limits. One engine; the profile only changes decisions and limits
 * (ARCHITECTURE.md "Defaults"). `aws` reproduces AWS IoT Core (spec/mqtt.md section 13 quotas),
 * `mqtt` is a fully conformant MQTT 3.1.1/5.0 broker.
 */

export type Profile = 'aws' | 'mqtt';

export interface BrokerLimits {
  /** Largest packet accepted from a client (MQTT 5 Maximum Packet Size advertised in CONNACK). */
  maxPacketBytes: number;
  /** Largest PUBLISH payload accepted. */
  maxPayloadBytes: number;
  maxClientIdBytes: number;
  /** Largest topic name / filter in bytes. */
  maxTopicBytes: number;
  /** Most `/` separators in a topic name or filter (AWS: 7); 0 = unlimited. */
  maxTopicSlashes: number;
  /** Prefix whose next level is not counted in topic-name limits (AWS Basic Ingest `$aws/rules/`); '' = none. */
  exemptTopicPrefix: string;
  /** Most filters in one SUBSCRIBE; 0 = unlimited. */
  maxFiltersPerSubscribe: number;
  /** Most subscriptions one session may hold; 0 = unlimited. */
  maxSubscriptionsPerSession: number;
  /** Receive Maximum the server advertises: unacknowledged inbound QoS 1/2 publishes per client. */
  receiveMaximum: number;
  /** Most unacknowledged outbound QoS 1/2 publishes per client (further ones wait in the queue). */
  maxInflightOut: number;
  /** Most messages queued for one session (offline or past the inflight window); excess are dropped. */
  maxQueuedMessages: number;
  keepAliveMinSec: number;
  keepAliveMaxSec: number;
  /** Used when the client asks for 0 (no keep-alive) in the aws profile; 0 = honour 0. */
  keepAliveDefaultSec: number;
  /** Session expiry used for MQTT 3.1.1 persistent sessions (AWS: 1 h). */
  sessionExpiryDefaultSec: number;
  /** Upper bound for any session expiry; larger requests are clamped and returned in CONNACK. */
  sessionExpiryMaxSec: number;
  /** Topic Alias Maximum the server accepts from clients; 0 = none. */
  topicAliasMaximum: number;
  /** Message expiry clamp (AWS 604800 s); 0 = no clamp. */
  messageExpiryMaxSec: number;
}

export interface BrokerFeatures {
  maxQos: 1 | 2;
  retainAvailable: boolean;
  wildcardSubscriptionAvailable: boolean;
  subscriptionIdentifiersAvailable: boolean;
  sharedSubscriptionAvailable: boolean;
  /** MQTT-4.7.1-2: `a/#` matches `a`. AWS deviates (spec/mqtt.md section 9): false in the aws profile. */
  hashMatchesParent: boolean;
  /** Retained messages delivered on subscribe only when the filter equals the topic (AWS section 7). */
  retainedOnExactFilterOnly: boolean;
  /** A 3.1.1 client gets its connection closed on a denied SUBSCRIBE/PUBLISH instead of a failure code. */
  closeOnDeniedV4: boolean;
  /** Honour MQTT 5 Will Delay Interval (AWS ignores it and publishes immediately). */
  willDelay: boolean;
  /** Refuse publishes to `$` topics that no consumer owns (AWS reserved topic space). */
  restrictDollarTopics: boolean;
  /** A transport-level orderly close (WebSocket close frame) counts as DISCONNECT: no will (AWS). */
  transportCloseIsDisconnect: boolean;
  /**
   * Send topic aliases to MQTT 5 clients that allow them (Topic Alias Maximum in CONNECT). AWS does
   * not document doing so (spec/mqtt.md section 17.6): off in the aws profile.
   */
  serverTopicAliases: boolean;
}

export interface BrokerOptions {
  profile: Profile;
  limits: BrokerLimits;
  features: BrokerFeatures;
}

export const awsLimits: Readonly<BrokerLimits> = {
  maxPacketBytes: 146 * 1024,
  maxPayloadBytes: 128 * 1024,
  maxClientIdBytes: 128,
  maxTopicBytes: 256,
  maxTopicSlashes: 7,
  exemptTopicPrefix: '$aws/rules/',
  maxFiltersPerSubscribe: 8,
  maxSubscriptionsPerSession: 50,
  receiveMaximum: 100,
  maxInflightOut: 100,
  maxQueuedMessages: 1000,
  keepAliveMinSec: 30,
  keepAliveMaxSec: 1200,
  keepAliveDefaultSec: 1200,
  sessionExpiryDefaultSec: 3600,
  sessionExpiryMaxSec: 604800,
  topicAliasMaximum: 8,
  messageExpiryMaxSec: 604800,
};

export const mqttLimits: Readonly<BrokerLimits> = {
  maxPacketBytes: 256 * 1024 * 1024 - 1,
  maxPayloadBytes: 256 * 1024 * 1024,
  maxClientIdBytes: 65535,
  maxTopicBytes: 65535,
  maxTopicSlashes: 0,
  exemptTopicPrefix: '',
  maxFiltersPerSubscribe: 0,
  maxSubscriptionsPerSession: 0,
  receiveMaximum: 65535,
  maxInflightOut: 65535,
  maxQueuedMessages: 100000,
  keepAliveMinSec: 0,
  keepAliveMaxSec: 65535,
  keepAliveDefaultSec: 0,
  sessionExpiryDefaultSec: 0xffffffff,
  sessionExpiryMaxSec: 0xffffffff,
  topicAliasMaximum: 65535,
  messageExpiryMaxSec: 0,
};

export const awsFeatures: Readonly<BrokerFeatures> = {
  maxQos: 1,
  retainAvailable: true,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: false,
  sharedSubscriptionAvailable: true,
  hashMatchesParent: false,
  retainedOnExactFilterOnly: true,
  closeOnDeniedV4: true,
  willDelay: false,
  restrictDollarTopics: true,
  transportCloseIsDisconnect: true,
  serverTopicAliases: false,
};

export const mqttFeatures: Readonly<BrokerFeatures> = {
  maxQos: 2,
  retainAvailable: true,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: true,
  sharedSubscriptionAvailable: true,
  hashMatchesParent: true,
  retainedOnExactFilterOnly: false,
  closeOnDeniedV4: false,
  willDelay: true,
  restrictDollarTopics: false,
  transportCloseIsDisconnect: false,
  serverTopicAliases: true,
};

/** Options for a profile, with any limits/features overridden. */
export function brokerOptionsFor(
  profile: Profile,
  overrides: { limits?: Partial<BrokerLimits>; features?: Partial<BrokerFeatures> } = {},
): BrokerOptions {
  const limits = { ...(profile === 'aws' ? awsLimits : mqttLimits), ...overrides.limits };
  const features = { ...(profile === 'aws' ? awsFeatures : mqttFeatures), ...overrides.features };
  return { profile, limits, features };
}
