/**
 * Where IoT policies meet the broker (spec/policy.md sections 3, 7, 9, 10; spec/mqtt.md section 16).
 *
 * At CONNECT, after core's authenticate decided who the client is, this builds the connection's
 * PolicyContext once:
 *   principal   certificate ARN (mutual TLS), access key id (SigV4 WebSocket), or 'anonymous';
 *   clientId    iot:ClientId;
 *   thing       registry.thingForConnection(certificateArn, clientId) → iot:Connection.Thing.*;
 *   certificate the authenticate attachment's facts → iot:Certificate.*;
 *   sourceIp    aws:SourceIp;
 * takes the principal's live policy set (policy service: the default versions of the policies
 * attached to it, kept current) and decides iot:Connect on `client/<clientId>` with the CONNECT's
 * request keys (iot:ConnectAttributes, iot:LastWillTopic). A refusal is CONNACK 0x87, which the
 * broker turns into each protocol's answer (3.1.1 under the aws profile: closed without a CONNACK).
 *
 * Who is not governed by policies:
 *   - the admin access key (the one the API signs with) is allowed everything;
 *   - under --dev, anonymous clients (plain MQTT, unsigned WebSocket) are allowed everything;
 *   - without --dev, the plain listener's anonymous clients get the policy named by
 *     `--anonymous-policy NAME`, looked up live (absent → nothing is allowed); without that option
 *     they are refused by authenticate as before.
 *
 * Then each connection carries a `ConnectionAuthorization` (ClientInfo.attachment) with a
 * DecisionCache over its live set, and the hooks decide synchronously from it:
 *   authorizePublish   iot:Publish        topic/<topic>          (the will too, at CONNECT)
 *   authorizeRetain    iot:RetainPublish  topic/<topic>
 *   authorizeSubscribe iot:Subscribe      topicfilter/<literal filter, $share/… included>
 *   authorizeReceive   iot:Receive        topic/<topic>          (per delivery; cached)
 *   mayAct (shadows)   iot:Publish on the request topic, re-decided when the shadow service serves it
 *     (spec/policy.md section 3: iot:GetThingShadow/UpdateThingShadow/DeleteThingShadow govern the
 *     HTTP data plane only; MQTT shadow access is Publish/Subscribe/Receive on $aws/things/…).
 *
 * Invalidation, exactly on changes:
 *   - policy version/default, attach/detach: the policy service reloads the live sets concerned and
 *     bumps their generations before its API call returns; caches on them recompile lazily;
 *   - thing attributes, type, attachments (registry.onChange): the connections bound to that thing or
 *     principal resolve their thing again, get a new context and `invalidate()` their caches;
 *   - certificate status: watchCertificateStatus (authenticate.ts) closes the connections of a
 *     certificate that is no longer ACTIVE; a deleted certificate's policies are detached here.
 * After any of these, connections whose iot:Connect no longer holds are closed (DISCONNECT 0x87
 * under MQTT 5, a plain close under 3.1.1). [DECISION, brief] spec/policy.md section 9 suggests
 * keeping open connections on a policy change; Thingcore closes the ones no longer allowed in.
 *
 * Every denial is logged at info with principal, action, resource ARN and the deciding statement or
 * "no statement allowed it", at most `maxDenialLogsPerSecond` (10) per connection; the rest are
 * counted and reported once a second.
 */
import type { AuthenticateResult, Broker, BrokerEvent, BrokerHooks, ClientInfo, ConnectInfo, Logger } from '../mqtt/index.js';
import { compilePolicies, DecisionCache, describeDecision } from '../policy/index.js';
import type { Decision, LivePolicies, PolicyContext, PolicyService, PolicyThingFacts, RequestContext } from '../policy/index.js';
import { certificateFacts, parseCertificatePem } from '../identity/index.js';
import type { IdentityService } from '../identity/index.js';
import type { ConnectionThing, RegistryService } from '../registry/index.js';
import { anonymousPrincipal } from '../mqtt/index.js';
import { parseIotArn } from '../shared/index.js';
import type { AccountScope } from '../shared/index.js';
import { reasonNotAuthorized } from './authenticate.js';
import type { CertificateAttachment } from './authenticate.js';
import type { ShadowActionCheck } from './shadow-wiring.js';

export interface AuthorizationOptions {
  readonly policies: Pick<PolicyService, 'livePoliciesForTarget' | 'livePolicy' | 'onChange' | 'detachAllFromTarget'>;
  readonly registry: Pick<RegistryService, 'thingForConnection' | 'onChange'>;
  readonly identity: Pick<IdentityService, 'onStatusChange' | 'describeCertificate'>;
  readonly scope: AccountScope;
  /** Anonymous clients are allowed everything. */
  readonly dev: boolean;
  /** Without dev: the policy governing anonymous plain-MQTT clients; null/absent = they are refused. */
  readonly anonymousPolicy?: string | null;
  /** The admin access key(s): allowed everything. */
  readonly isAdminAccessKey: (accessKeyId: string) => boolean;
  readonly logger: Logger;
  /** Wall-clock ms (denial-log windows); default Date.now. */
  readonly clock?: () => number;
  /** Per connection; default 10. */
  readonly maxDenialLogsPerSecond?: number;
  /** Cached decisions per action per connection (DecisionCache maxEntries); default 256. */
  readonly decisionCacheEntries?: number;
}

export type Authenticator = (info: ConnectInfo) => AuthenticateResult | Promise<AuthenticateResult>;

export interface Authorization {
  /** Wraps core's authenticator: who the client is, then iot:Connect (0x87 when refused). */
  authenticate(inner: Authenticator): Authenticator;
  /** The broker's decision hooks; synchronous, fail closed. */
  readonly hooks: Required<Pick<BrokerHooks, 'authorizePublish' | 'authorizeSubscribe' | 'authorizeReceive' | 'authorizeRetain'>>;
  /** For startShadows: may this client's shadow request be served (see the header)? */
  readonly mayAct: ShadowActionCheck;
  /** Broker events (connected / disconnected keep the set of live connections). */
  onEvent(event: BrokerEvent): void;
  /** Starts watching policy, registry and certificate changes; returns the function that stops. */
  start(broker: Pick<Broker, 'disconnectClients'>): () => void;
  /** The context TestAuthorization evaluates a principal in (certificate facts, bound thing). */
  connectionContext(principal: string, clientId: string | undefined): Promise<PolicyContext>;
}

/** What a connection carries for the hooks (ClientInfo.attachment). */
export class ConnectionAuthorization {
  /** Set when no policy governs this connection: why. */
  readonly allowedEverything: string | undefined;
  /** Set for certificate clients: authenticate's attachment. */
  readonly certificate: CertificateAttachment | undefined;
  context: PolicyContext;
  /** Registry changes seen when `context.thing` was resolved. */
  registryEpoch: number;
  /** The live set's generation at the last iot:Connect check. */
  connectCheckedAt = -1;
  #denialWindowMs = 0;
  #denialsLogged = 0;
  #denialsSuppressed = 0;

  constructor(
    /** Certificate ARN, access key id, or 'anonymous'. */
    readonly principal: string,
    readonly clientId: string,
    /** The CONNECT's request keys, kept to re-check iot:Connect after a change. */
    readonly request: RequestContext,
    readonly live: LivePolicies | undefined,
    readonly cache: DecisionCache | undefined,
    init: { context: PolicyContext; registryEpoch: number; allowedEverything?: string; certificate?: CertificateAttachment },
  ) {
    this.context = init.context;
    this.registryEpoch = init.registryEpoch;
    this.allowedEverything = init.allowedEverything;
    this.certificate = init.certificate;
  }

  /** True when the denial is to be logged now; counts it otherwise. */
  shouldLogDenial(nowMs: number, perSecond: number, onWindowEnd: (suppressed: number) => void): boolean {
    if (nowMs - this.#denialWindowMs >= 1000) {
      if (this.#denialsSuppressed > 0) onWindowEnd(this.#denialsSuppressed);
      this.#denialWindowMs = nowMs;
      this.#denialsLogged = 0;
      this.#denialsSuppressed = 0;
    }
    if (this.#denialsLogged >= perSecond) {
      this.#denialsSuppressed++;
      return false;
    }
    this.#denialsLogged++;
    return true;
  }
}

/** Connections re-checked for iot:Connect per event-loop turn after a change. */
const recheckSlice = 500;

const resourceTypes: Readonly<Record<string, string>> = {
  'iot:Connect': 'client',
  'iot:Publish': 'topic',
  'iot:RetainPublish': 'topic',
  'iot:Receive': 'topic',
  'iot:Subscribe': 'topicfilter',
};

export function createAuthorization(options: AuthorizationOptions): Authorization {
  return new PolicyAuthorization(options);
}

class PolicyAuthorization implements Authorization {
  readonly #o: AuthorizationOptions;
  readonly #clock: () => number;
  readonly #maxDenialLogs: number;
  readonly #connected = new Set<ConnectionAuthorization>();
  #registryEpoch = 0;
  #broker: Pick<Broker, 'disconnectClients'> | undefined;
  readonly hooks: Authorization['hooks'];
  readonly mayAct: ShadowActionCheck;

  constructor(options: AuthorizationOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#maxDenialLogs = options.maxDenialLogsPerSecond ?? 10;
    this.hooks = {
      authorizePublish: (client, topic) => this.#decide(client, 'iot:Publish', topic),
      authorizeRetain: (client, topic) => this.#decide(client, 'iot:RetainPublish', topic),
      authorizeSubscribe: (client, topicFilter) => this.#decide(client, 'iot:Subscribe', topicFilter),
      authorizeReceive: (client, topic) => this.#decide(client, 'iot:Receive', topic),
    };
    this.mayAct = (client, operation, thingName, shadowName) => {
      if (client === undefined) return true; // the server itself
      const topic = `$aws/things/${thingName}/shadow${shadowName === undefined ? '' : `/name/${shadowName}`}/${operation}`;
      return this.#decide(client, 'iot:Publish', topic);
    };
  }

  /** The hot path: one instanceof, one flag, one Map lookup on a cache hit. */
  #decide(client: ClientInfo, action: string, resourceName: string): boolean {
    const state = client.attachment;
    if (!(state instanceof ConnectionAuthorization)) return false; // fail closed
    if (state.allowedEverything !== undefined) return true;
    const decision = state.cache!.decideName(action, resourceName);
    if (!decision.allowed) this.#logDenial(state, action, resourceName, decision);
    return decision.allowed;
  }

  #logDenial(state: ConnectionAuthorization, action: string, resourceName: string, decision: Decision): void {
    const logger = this.#o.logger;
    const log = state.shouldLogDenial(this.#clock(), this.#maxDenialLogs, (suppressed) =>
      logger.info({ clientId: state.clientId, principal: state.principal, suppressed }, `${suppressed} more denials of this connection were not logged (at most ${this.#maxDenialLogs} a second)`),
    );
    if (!log) return;
    const resource = this.#arn(action, resourceName);
    const s = decision.decidingStatement;
    logger.info(
      {
        clientId: state.clientId,
        principal: state.principal,
        action,
        resource,
        statement: s === undefined ? 'no statement allowed it' : `policy "${s.policyName}" version ${s.policyVersionId} Statement[${s.statementIndex}]${s.sid === undefined ? '' : ` (Sid ${s.sid})`}`,
        ...(decision.missingContextValues === undefined ? {} : { missingContextValues: decision.missingContextValues }),
      },
      `denied: ${describeDecision(decision, action, resource)}`,
    );
  }

  #arn(action: string, resourceName: string): string {
    const type = resourceTypes[action] ?? 'topic';
    return `arn:aws:iot:${this.#o.scope.region}:${this.#o.scope.accountId}:${type}/${resourceName}`;
  }

  // ─── CONNECT ────────────────────────────────────────────────────────────────────────────────

  authenticate(inner: Authenticator): Authenticator {
    const { dev, anonymousPolicy } = this.#o;
    return (info) => {
      // The plain listener under --anonymous-policy: anonymous, governed by that policy.
      if (info.peer.transport === 'tcp' && !dev && anonymousPolicy != null) {
        return this.#admit(info, { ok: true, principal: anonymousPrincipal }).catch((err: unknown) => this.#failed(info, err));
      }
      let first: AuthenticateResult | Promise<AuthenticateResult>;
      try {
        first = inner(info);
      } catch (err: unknown) {
        return this.#failed(info, err);
      }
      return Promise.resolve(first)
        .then((r) => this.#admit(info, r))
        .catch((err: unknown) => this.#failed(info, err));
    };
  }

  #failed(info: ConnectInfo, err: unknown): AuthenticateResult {
    this.#o.logger.warn({ err, clientId: info.clientId }, 'authorization at CONNECT failed; connection refused');
    return { ok: false, reasonCode: reasonNotAuthorized, reason: 'authorization failed' };
  }

  async #admit(info: ConnectInfo, result: AuthenticateResult): Promise<AuthenticateResult> {
    if (!result.ok) return result;
    const { clientId, peer } = info;
    const principal = result.principal;
    const request: RequestContext = {
      connectAttributes: [...(info.cleanStart ? [] : ['PersistentConnect']), ...(info.will === undefined ? [] : ['LastWill'])],
      ...(info.will === undefined ? {} : { lastWillTopic: this.#arn('iot:Publish', info.will.topic) }),
    };
    const sourceIp = peer.remoteAddress;
    const base = { clientId, ...(sourceIp === undefined ? {} : { sourceIp }) };
    const registryEpoch = this.#registryEpoch;

    let name: string;
    let live: LivePolicies;
    let context: PolicyContext;
    let certificate: CertificateAttachment | undefined;
    switch (principal.kind) {
      case 'anonymous': {
        if (this.#o.dev) return this.#allowAll(result, 'anonymous', clientId, request, 'dev mode: anonymous clients may do everything');
        const policyName = this.#o.anonymousPolicy;
        if (policyName == null) return { ok: false, reasonCode: reasonNotAuthorized, reason: 'anonymous clients are not allowed', principal };
        name = 'anonymous';
        live = await this.#o.policies.livePolicy(policyName);
        context = { principal: name, ...base };
        break;
      }
      case 'accessKey': {
        if (this.#o.isAdminAccessKey(principal.id)) return this.#allowAll(result, principal.id, clientId, request, 'the admin access key may do everything');
        name = principal.id;
        live = await this.#o.policies.livePoliciesForTarget(name);
        context = { principal: name, ...base };
        break;
      }
      case 'certificate': {
        certificate = result.attachment as CertificateAttachment | undefined;
        if (certificate === undefined) return { ok: false, reasonCode: reasonNotAuthorized, reason: 'no certificate facts', principal };
        name = certificate.certificateArn;
        const [policies, thing] = await Promise.all([
          this.#o.policies.livePoliciesForTarget(name),
          this.#o.registry.thingForConnection(name, clientId),
        ]);
        live = policies;
        context = { principal: name, ...base, certificate: { certificateId: certificate.certificateId, ...certificate.facts }, ...thingOf(thing) };
        break;
      }
      default:
        return { ok: false, reasonCode: reasonNotAuthorized, principal };
    }
    const state: ConnectionAuthorization = new ConnectionAuthorization(name, clientId, request, live, this.#cacheFor(live, () => state), {
      context,
      registryEpoch,
      ...(certificate === undefined ? {} : { certificate }),
    });
    const decision = this.#checkConnect(state);
    if (!decision.allowed) {
      this.#logDenial(state, 'iot:Connect', clientId, decision);
      return { ok: false, reasonCode: reasonNotAuthorized, reason: describeDecision(decision, 'iot:Connect', this.#arn('iot:Connect', clientId)), principal };
    }
    return { ok: true, principal, attachment: state };
  }

  #allowAll(result: Extract<AuthenticateResult, { ok: true }>, name: string, clientId: string, request: RequestContext, why: string): AuthenticateResult {
    const state = new ConnectionAuthorization(name, clientId, request, undefined, undefined, {
      context: { principal: name, clientId },
      registryEpoch: this.#registryEpoch,
      allowedEverything: why,
    });
    return { ok: true, principal: result.principal, attachment: state };
  }

  #cacheFor(live: LivePolicies, state: () => ConnectionAuthorization): DecisionCache {
    const scope = this.#o.scope;
    return new DecisionCache({
      generation: live.generation,
      compile: () => compilePolicies(live.policies, state().context, scope),
      ...(this.#o.decisionCacheEntries === undefined ? {} : { maxEntries: this.#o.decisionCacheEntries }),
    });
  }

  /** iot:Connect for the connection as it stands (live set, context), with the CONNECT's request keys. */
  #checkConnect(state: ConnectionAuthorization): Decision {
    state.connectCheckedAt = state.live!.generation.current;
    return state.cache!.decideName('iot:Connect', state.clientId, state.request);
  }

  // ─── Changes ────────────────────────────────────────────────────────────────────────────────

  onEvent(event: BrokerEvent): void {
    if (event.type !== 'connected' && event.type !== 'disconnected') return;
    const state = event.client.attachment;
    if (!(state instanceof ConnectionAuthorization) || state.allowedEverything !== undefined) return;
    if (event.type === 'disconnected') {
      this.#connected.delete(state);
      return;
    }
    this.#connected.add(state);
    // A change may have landed between the CONNECT check and now.
    if (state.registryEpoch !== this.#registryEpoch) void this.#rebind([state]);
    else if (state.connectCheckedAt !== state.live!.generation.current) this.#recheck([state]);
  }

  start(broker: Pick<Broker, 'disconnectClients'>): () => void {
    this.#broker = broker;
    const stops = [
      this.#o.policies.onChange(() => {
        const moved = [...this.#connected].filter((s) => s.connectCheckedAt !== s.live!.generation.current);
        if (moved.length > 0) this.#recheck(moved);
      }),
      this.#o.registry.onChange((event) => {
        this.#registryEpoch++;
        let affected: ConnectionAuthorization[];
        switch (event.type) {
          case 'thing-updated':
          case 'thing-deleted':
            affected = [...this.#connected].filter((s) => s.context.thing?.thingName === event.thingName);
            break;
          case 'principal-attached':
          case 'principal-detached':
            affected = [...this.#connected].filter((s) => s.principal === event.principal);
            break;
          default:
            affected = [];
        }
        if (affected.length > 0) void this.#rebind(affected);
      }),
      this.#o.identity.onStatusChange((event) => {
        if (event.type !== 'certificate' || event.status !== 'DELETED') return;
        void this.#o.policies.detachAllFromTarget(event.certificateArn).catch((err: unknown) =>
          this.#o.logger.error({ err, certificateArn: event.certificateArn }, 'could not detach the policies of a deleted certificate'),
        );
      }),
    ];
    return () => {
      for (const stop of stops) stop();
      this.#broker = undefined;
    };
  }

  /** Resolves the connections' things again (registry changed), then re-checks iot:Connect. */
  async #rebind(states: readonly ConnectionAuthorization[]): Promise<void> {
    const epoch = this.#registryEpoch;
    await Promise.all(
      states.map(async (state) => {
        if (state.certificate === undefined) {
          state.registryEpoch = epoch;
          return;
        }
        try {
          const thing = await this.#o.registry.thingForConnection(state.principal, state.clientId);
          const { thing: _old, ...rest } = state.context;
          state.context = { ...rest, ...thingOf(thing) };
          state.registryEpoch = epoch;
          state.cache!.invalidate();
        } catch (err: unknown) {
          this.#o.logger.error({ err, clientId: state.clientId }, 'could not resolve the thing of a connection again; closing it');
          state.connectCheckedAt = -2; // forces the close below
        }
      }),
    );
    this.#recheck(states, true);
  }

  /** Closes the connections whose iot:Connect no longer holds. */
  #recheck(states: readonly ConnectionAuthorization[], force = false): void {
    // Each re-check may compile the connection's policies: a change to a policy many connections
    // hold is re-checked a slice per event-loop turn, so publishes keep flowing meanwhile (their
    // decisions already use the new policies; only the closing waits its turn).
    const slice = states.slice(0, recheckSlice);
    if (states.length > recheckSlice) setImmediate(() => this.#recheck(states.slice(recheckSlice), force));
    const refused = new Map<ConnectionAuthorization, Decision | undefined>();
    for (const state of slice) {
      if (!this.#connected.has(state) && !force) continue;
      if (state.connectCheckedAt === -2) {
        refused.set(state, undefined);
        continue;
      }
      const d = this.#checkConnect(state);
      if (!d.allowed) refused.set(state, d);
    }
    if (refused.size === 0 || this.#broker === undefined) return;
    for (const [state, d] of refused) {
      this.#o.logger.info(
        { clientId: state.clientId, principal: state.principal },
        `closing the connection: it is no longer allowed to connect (${d === undefined ? 'its thing could not be resolved' : describeDecision(d, 'iot:Connect', this.#arn('iot:Connect', state.clientId))})`,
      );
    }
    // Not from inside the broker's own event (a 'connected' emit): on the next turn. Meanwhile the
    // hooks already decide with the new policies.
    const broker = this.#broker;
    setImmediate(() => {
      broker.disconnectClients((c) => c.attachment instanceof ConnectionAuthorization && refused.has(c.attachment), reasonNotAuthorized, 'not-authorized');
    });
  }

  // ─── TestAuthorization ──────────────────────────────────────────────────────────────────────

  async connectionContext(principal: string, clientId: string | undefined): Promise<PolicyContext> {
    const base: PolicyContext = { principal, ...(clientId === undefined ? {} : { clientId }) };
    const arn = parseIotArn(principal);
    if (arn === undefined || arn.type !== 'cert') return base;
    const { certificateDescription } = await this.#o.identity.describeCertificate(arn.resource);
    const parsed = parseCertificatePem(certificateDescription.certificatePem);
    const thing = await this.#o.registry.thingForConnection(principal, clientId ?? '');
    return {
      ...base,
      ...(parsed === undefined ? { certificate: { certificateId: arn.resource } } : { certificate: { certificateId: arn.resource, ...certificateFacts(parsed) } }),
      ...thingOf(thing),
    };
  }
}

function thingOf(thing: ConnectionThing | undefined): { thing?: PolicyThingFacts } {
  if (thing === undefined) return {};
  return {
    thing: {
      thingName: thing.thingName,
      attributes: thing.attributes,
      ...(thing.thingTypeName === undefined ? {} : { thingTypeName: thing.thingTypeName }),
    },
  };
}
