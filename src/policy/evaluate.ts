/**
 * Decisions on a compiled policy set (spec/policy.md section 7, IAM evaluation logic):
 *
 *   decide(action, resource):
 *     any active Deny statement covering the action whose resource matches
 *       (and whose per-request conditions hold)            → explicit-deny
 *     else any such Allow statement                         → allowed
 *     else                                                  → no-matching-allow (default deny)
 *
 * Deny statements are tried first so the first match is final; statement and policy order never
 * change the answer. A Resource statement matches when one of its globs matches; a NotResource
 * statement when none does. Cost: a handful of startsWith/=== per statement covering the action;
 * no allocation (the Decision objects are pre-built by compile.ts).
 *
 * `explain` is the slow path for "every denial explained" and TestAuthorization: it walks every
 * statement, inert ones included, and says why each did or did not apply.
 */
import { actionIndex, iotActions } from './actions.js';
import type { BoundStatement, CompiledPolicySet, Decision, NamePlan, NameStatement, StatementRef } from './compile.js';
import type { RequestContext } from './context.js';
import { globMatches } from './glob.js';

const unknownAction: Decision = Object.freeze({ allowed: false, reason: 'no-matching-allow' });

function dynamicHolds(b: BoundStatement, request: RequestContext | undefined): boolean {
  for (const c of b.dynamic!) if (!c.test(c.clause.key.readRequest(request))) return false;
  return true;
}

function match(b: BoundStatement, resource: string, request: RequestContext | undefined): Decision | undefined {
  const globs = b.globs;
  let d: Decision | undefined;
  if (b.not) {
    for (let i = 0; i < globs.length; i++) if (globMatches(globs[i]!, resource)) return undefined;
    d = b.decisions[0];
  } else {
    for (let i = 0; i < globs.length; i++) {
      if (globMatches(globs[i]!, resource)) {
        d = b.decisions[i];
        break;
      }
    }
    if (d === undefined) return undefined;
  }
  if (b.dynamic !== undefined && !dynamicHolds(b, request)) return undefined;
  return d;
}

function matchName(b: NameStatement, name: string, request: RequestContext | undefined): Decision | undefined {
  const globs = b.globs;
  let d: Decision | undefined;
  if (b.not) {
    for (let i = 0; i < globs.length; i++) if (globMatches(globs[i]!, name)) return undefined;
    d = b.decisions[0];
  } else {
    for (let i = 0; i < globs.length; i++) {
      if (globMatches(globs[i]!, name)) {
        d = b.decisions[i];
        break;
      }
    }
    if (d === undefined) return undefined;
  }
  if (b.dynamic !== undefined) {
    for (const c of b.dynamic) if (!c.test(c.clause.key.readRequest(request))) return undefined;
  }
  return d;
}

function decideByName(np: NamePlan, noMatch: Decision, name: string, request: RequestContext | undefined): Decision {
  if (np.denyExact !== undefined) {
    const d = np.denyExact.get(name);
    if (d !== undefined) return d;
  }
  const deny = np.deny;
  for (let k = 0; k < deny.length; k++) {
    const d = matchName(deny[k]!, name, request);
    if (d !== undefined) return d;
  }
  if (np.allowExact !== undefined) {
    const d = np.allowExact.get(name);
    if (d !== undefined) return d;
  }
  const allow = np.allow;
  for (let k = 0; k < allow.length; k++) {
    const d = matchName(allow[k]!, name, request);
    if (d !== undefined) return d;
  }
  return noMatch;
}

/**
 * The decision for `action` on the server's resource of the action's type named `resourceName`:
 * a topic name for Publish/Receive/RetainPublish, the literal filter for Subscribe, the client id
 * for Connect, `<thing>` or `<thing>/<shadow>` for the shadow actions. Same answer as `decide`
 * on `arn:aws:iot:<region>:<account>:<type>/<resourceName>`, without building the ARN (the MQTT
 * hot path). Actions whose resource is "All" ignore the name and decide on `*`.
 */
export function decideName(compiled: CompiledPolicySet, action: string, resourceName: string, request?: RequestContext): Decision {
  const i = actionIndex(action);
  if (i < 0) return unknownAction;
  const plan = compiled.plans[i]!;
  if (plan.names === undefined) return decideByArn(plan, '*', request);
  return decideByName(plan.names, plan.noMatch, resourceName, request);
}

/**
 * The decision for `action` (e.g. 'iot:Publish', any case) on `resourceArn` (e.g.
 * `arn:aws:iot:us-east-1:123456789012:topic/a/b`; `*` for actions whose resource is "All").
 * `request` carries per-CONNECT condition keys. An unknown action is denied.
 */
export function decide(compiled: CompiledPolicySet, action: string, resourceArn: string, request?: RequestContext): Decision {
  const i = actionIndex(action);
  if (i < 0) return unknownAction;
  const plan = compiled.plans[i]!;
  const np = plan.names;
  if (np !== undefined && resourceArn.startsWith(np.prefix)) return decideByName(np, plan.noMatch, resourceArn.slice(np.prefix.length), request);
  return decideByArn(plan, resourceArn, request);
}

function decideByArn(plan: CompiledPolicySet['plans'][number], resourceArn: string, request: RequestContext | undefined): Decision {
  const deny = plan.deny;
  for (let k = 0; k < deny.length; k++) {
    const d = match(deny[k]!, resourceArn, request);
    if (d !== undefined) return d;
  }
  const allow = plan.allow;
  for (let k = 0; k < allow.length; k++) {
    const d = match(allow[k]!, resourceArn, request);
    if (d !== undefined) return d;
  }
  return plan.noMatch;
}

/** True when decisions for `action` may be cached (no statement tests per-request keys). */
export function isCacheable(compiled: CompiledPolicySet, action: string): boolean {
  const i = actionIndex(action);
  return i < 0 || compiled.plans[i]!.cacheable;
}

export type StatementOutcome = 'matched' | 'action-not-covered' | 'unresolved-variables' | 'resource-not-matched' | 'condition-failed';

export interface StatementTrace {
  readonly statement: StatementRef;
  readonly outcome: StatementOutcome;
  /** Resource/NotResource patterns with variables substituted (empty when unresolved). */
  readonly substitutedResources: readonly string[];
  readonly resourceElement: 'Resource' | 'NotResource';
  /** Why, for people. */
  readonly detail: string;
}

export interface Explanation {
  readonly action: string;
  readonly resource: string;
  readonly decision: Decision;
  /** Every statement of every policy, in policy then statement order. */
  readonly statements: readonly StatementTrace[];
  /** Context values some statement covering the action needed but the connection lacks. */
  readonly missingContextValues: readonly string[];
}

/** Walks every statement and says why each applied or not (slow path: logs, TestAuthorization). */
export function explain(compiled: CompiledPolicySet, action: string, resourceArn: string, request?: RequestContext): Explanation {
  const decision = decide(compiled, action, resourceArn, request);
  const i = actionIndex(action);
  const canonical = i < 0 ? undefined : iotActions[i];
  const missing = new Set<string>();
  const statements: StatementTrace[] = compiled.statements.map((b) => {
    const substitutedResources = b.globs.map((g) => g.display);
    const base = { statement: b.ref, substitutedResources, resourceElement: b.statement.resourceElement };
    const covers = canonical !== undefined && b.statement.actions.includes(canonical);
    if (!covers) {
      return { ...base, outcome: 'action-not-covered', detail: `${b.statement.actionElement} ${JSON.stringify(b.statement.actionPatterns)} does not cover ${action}` };
    }
    if (b.status.kind === 'unresolved') {
      for (const m of b.status.missing) missing.add(m);
      return { ...base, outcome: 'unresolved-variables', detail: `unresolved ${b.status.missing.map((m) => `\${${m}}`).join(', ')}: the statement does not apply` };
    }
    const resourceMatched = b.not ? !b.globs.some((g) => globMatches(g, resourceArn)) : b.globs.some((g) => globMatches(g, resourceArn));
    if (!resourceMatched) {
      const detail = b.not
        ? `the resource is excluded by NotResource ${JSON.stringify(substitutedResources)}`
        : `the resource matches none of ${JSON.stringify(substitutedResources)}`;
      return { ...base, outcome: 'resource-not-matched', detail };
    }
    if (b.status.kind === 'condition-failed') {
      for (const m of b.status.missing) missing.add(m);
      return { ...base, outcome: 'condition-failed', detail: `condition failed: ${b.status.condition}` };
    }
    if (b.dynamic !== undefined) {
      for (const c of b.dynamic) {
        const value = c.clause.key.readRequest(request);
        if (!c.test(value)) {
          if (value === undefined) missing.add(c.clause.key.name);
          return { ...base, outcome: 'condition-failed', detail: `condition failed: ${c.display} (request: ${value === undefined ? 'absent' : JSON.stringify(value)})` };
        }
      }
    }
    return { ...base, outcome: 'matched', detail: `${b.ref.effect} applies` };
  });
  return { action, resource: resourceArn, decision, statements, missingContextValues: [...missing] };
}

function where(s: StatementRef): string {
  return `policy "${s.policyName}" version ${s.policyVersionId} Statement[${s.statementIndex}]${s.sid === undefined ? '' : ` (Sid ${s.sid})`}`;
}

/** One line for logs and error messages: what was decided and by which statement. */
export function describeDecision(decision: Decision, action: string, resourceArn: string): string {
  const s = decision.decidingStatement;
  switch (decision.reason) {
    case 'allowed':
      return `${action} on ${resourceArn} allowed by ${s === undefined ? 'a statement' : `${where(s)}, ${s.resourceElement} ${s.substitutedResource}`}`;
    case 'explicit-deny':
      return `${action} on ${resourceArn} denied explicitly by ${s === undefined ? 'a statement' : `${where(s)}, ${s.resourceElement} ${s.substitutedResource}`}`;
    case 'no-matching-allow': {
      const missing = decision.missingContextValues;
      const tail = missing === undefined || missing.length === 0 ? '' : ` (statements needing ${missing.join(', ')} did not apply: not available for this connection)`;
      return `${action} on ${resourceArn} denied: no statement allows it${tail}`;
    }
  }
}
