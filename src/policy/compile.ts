/**
 * Compilation: the default versions of every policy that applies to a principal, bound to one
 * connection's context, become one `CompiledPolicySet` that answers decisions without parsing,
 * substituting or testing connection conditions again.
 *
 * Per statement, once per (policy versions, connection context):
 *   1. substitute the connection's values into every Resource/NotResource pattern and condition
 *      value; if any variable is unresolved the statement is inert: neither its Allow nor its Deny
 *      applies (spec/policy.md section 5 [DECISION]);
 *   2. decide every condition on a connection key now (its value cannot change for the
 *      connection); a failed one makes the statement inert too. Conditions on per-request keys
 *      (iot:ConnectAttributes, iot:LastWillTopic) stay for decision time;
 *   3. turn each pattern into a classified glob (glob.ts) and pre-build the Decision it returns, so
 *      a decision allocates nothing;
 *   4. file the statement under every action it covers, Deny statements apart from Allow ones.
 *
 * Example: `Allow iot:Publish topic/devices/${iot:Connection.Thing.ThingName}/*` for a client
 * bound to thing `sensor-1` becomes, under iot:Publish, the prefix glob
 * `arn:aws:iot:us-east-1:123456789012:topic/devices/sensor-1/`; for a client with no thing it
 * becomes inert and names `iot:Connection.Thing.ThingName` in the no-match decision.
 * Cost: O(total size of the documents) per compile.
 */
import type { AccountScope } from '../shared/index.js';
import { actionResourceType, iotActions } from './actions.js';
import { bindCondition, type BoundCondition } from './conditions.js';
import type { ContextValue, PolicyContext } from './context.js';
import type { Effect, PolicyDocument, PolicyStatement } from './document.js';
import { compileGlob, isExactGlob, residualGlobs, type Glob, type GlobToken } from './glob.js';
import { bindTemplate, tokensToString } from './template.js';

/** One policy version to compile (the default version of an applicable policy). */
export interface PolicyVersionInput {
  readonly policyName: string;
  readonly policyVersionId: string;
  readonly document: PolicyDocument;
}

/** Which statement of which policy version. */
export interface StatementRef {
  readonly policyName: string;
  readonly policyVersionId: string;
  /** 0-based position in the Statement array, as in `Statement[2]` of the parse messages. */
  readonly statementIndex: number;
  readonly sid?: string;
  readonly effect: Effect;
}

export interface DecidingStatement extends StatementRef {
  readonly resourceElement: 'Resource' | 'NotResource';
  /** The Resource pattern that matched, variables substituted (NotResource: the patterns it excludes, comma-separated). */
  readonly substitutedResource: string;
}

export type DecisionReason = 'explicit-deny' | 'allowed' | 'no-matching-allow';

export interface Decision {
  readonly allowed: boolean;
  readonly reason: DecisionReason;
  /** The statement that decided (absent for no-matching-allow). */
  readonly decidingStatement?: DecidingStatement;
  /**
   * no-matching-allow only: context values that statements covering the action needed and the
   * connection lacks (unresolved variables, absent condition keys), as TestAuthorization's
   * missingContextValues.
   */
  readonly missingContextValues?: readonly string[];
}

/** How a statement stands for this connection. */
export type StatementStatus =
  | { readonly kind: 'active' }
  | { readonly kind: 'unresolved'; readonly missing: readonly string[] }
  | { readonly kind: 'condition-failed'; readonly condition: string; readonly missing: readonly string[] };

/** A statement bound to one connection. */
export interface BoundStatement {
  readonly ref: StatementRef;
  readonly statement: PolicyStatement;
  readonly status: StatementStatus;
  readonly not: boolean;
  readonly globs: readonly Glob[];
  /** Resource: one per glob; NotResource: one. */
  readonly decisions: readonly Decision[];
  /** Conditions on per-request keys, tested at decision time; undefined when there are none. */
  readonly dynamic: readonly BoundCondition[] | undefined;
}

/** A statement's patterns with the server's `arn:aws:iot:<region>:<account>:<type>/` stripped. */
export interface NameStatement {
  readonly not: boolean;
  readonly globs: readonly Glob[];
  /** Resource: one per glob; NotResource: one. */
  readonly decisions: readonly Decision[];
  readonly dynamic: readonly BoundCondition[] | undefined;
}

/**
 * Name-based matching for one action (the hot path: MQTT hooks know the topic, not an ARN).
 * Exact names of statements without per-request conditions sit in maps; the rest in lists.
 */
export interface NamePlan {
  /** `arn:aws:iot:<region>:<account>:<type>/` of the server, for the action's resource type. */
  readonly prefix: string;
  readonly denyExact: ReadonlyMap<string, Decision> | undefined;
  readonly deny: readonly NameStatement[];
  readonly allowExact: ReadonlyMap<string, Decision> | undefined;
  readonly allow: readonly NameStatement[];
}

/** What one action consults. */
export interface ActionPlan {
  /** Whole-ARN matching (any ARN, e.g. another region's). */
  readonly deny: readonly BoundStatement[];
  readonly allow: readonly BoundStatement[];
  /** Name matching for ARNs of the server's region and account; undefined for "All" (`*`) actions. */
  readonly names: NamePlan | undefined;
  readonly noMatch: Decision;
  /** False when a statement tests per-request keys: its decisions must not be cached. */
  readonly cacheable: boolean;
}

/** The compiled form of a principal's policies for one connection. Immutable. */
export class CompiledPolicySet {
  constructor(
    readonly context: PolicyContext,
    readonly scope: AccountScope,
    readonly policies: readonly { readonly policyName: string; readonly policyVersionId: string }[],
    /** Internal: one plan per index of `iotActions`. */
    readonly plans: readonly ActionPlan[],
    /** Internal: every statement, inert ones included, for explanations. */
    readonly statements: readonly BoundStatement[],
  ) {}
}

const noMatchPlain: Decision = { allowed: false, reason: 'no-matching-allow' };
/** The plan of an action no statement covers (most of them, for a device policy). */
const emptyPlan: ActionPlan = {
  deny: [],
  allow: [],
  names: { prefix: '', denyExact: undefined, deny: [], allowExact: undefined, allow: [] },
  noMatch: noMatchPlain,
  cacheable: true,
};

function bindStatement(input: PolicyVersionInput, st: PolicyStatement, ctx: PolicyContext): BoundStatement {
  const base: StatementRef = {
    policyName: input.policyName,
    policyVersionId: input.policyVersionId,
    statementIndex: st.index,
    effect: st.effect,
  };
  const ref: StatementRef = st.sid === undefined ? base : { ...base, sid: st.sid };
  const missing = new Set<string>();

  const globs: Glob[] = [];
  for (const t of st.resources) {
    const b = bindTemplate(t, ctx, true);
    if (b.ok) globs.push(compileGlob(b.tokens));
    else for (const m of b.missing) missing.add(m);
  }

  const staticConditions: { bound: BoundCondition; value: ContextValue }[] = [];
  const dynamic: BoundCondition[] = [];
  for (const clause of st.conditions) {
    const values: { tokens: readonly GlobToken[]; literal: string }[] = [];
    for (const t of clause.values) {
      const globbed = bindTemplate(t, ctx, true);
      if (!globbed.ok) {
        for (const m of globbed.missing) missing.add(m);
        continue;
      }
      values.push({ tokens: globbed.tokens, literal: tokensToString(globbed.tokens) });
    }
    if (values.length !== clause.values.length) continue;
    const bound = bindCondition(clause, values);
    if (clause.key.scope === 'request') dynamic.push(bound);
    else staticConditions.push({ bound, value: clause.key.readConnection(ctx) });
  }

  const not = st.resourceElement === 'NotResource';
  const allowed = st.effect === 'Allow';
  const reason = allowed ? 'allowed' : 'explicit-deny';
  const resourceElement = st.resourceElement;
  const decide = (substitutedResource: string): Decision => {
    const decidingStatement: DecidingStatement =
      ref.sid === undefined
        ? { policyName: ref.policyName, policyVersionId: ref.policyVersionId, statementIndex: ref.statementIndex, effect: ref.effect, resourceElement, substitutedResource }
        : { policyName: ref.policyName, policyVersionId: ref.policyVersionId, statementIndex: ref.statementIndex, sid: ref.sid, effect: ref.effect, resourceElement, substitutedResource };
    return { allowed, reason, decidingStatement };
  };
  const decisions = not ? [decide(globs.map((g) => g.display).join(', '))] : globs.map((g) => decide(g.display));

  let status: StatementStatus = { kind: 'active' };
  if (missing.size > 0) status = { kind: 'unresolved', missing: [...missing] };
  else {
    for (const { bound, value } of staticConditions) {
      if (bound.test(value)) continue;
      const absent = value === undefined ? [bound.clause.key.name] : [];
      status = { kind: 'condition-failed', condition: `${bound.display} (context: ${value === undefined ? 'absent' : JSON.stringify(value)})`, missing: absent };
      break;
    }
  }
  return { ref, statement: st, status, not, globs, decisions, dynamic: dynamic.length > 0 ? dynamic : undefined };
}

/** Splits active statements into exact-name maps and residual-glob lists for one ARN prefix. */
function namePlan(prefix: string, deny: readonly BoundStatement[], allow: readonly BoundStatement[], memo: Map<BoundStatement, Map<string, Glob[][]>>): NamePlan {
  const residuals = (b: BoundStatement): Glob[][] => {
    let byPrefix = memo.get(b);
    if (byPrefix === undefined) memo.set(b, (byPrefix = new Map()));
    let r = byPrefix.get(prefix);
    if (r === undefined) byPrefix.set(prefix, (r = b.globs.map((g) => residualGlobs(g, prefix))));
    return r;
  };
  const split = (list: readonly BoundStatement[]): { exact: Map<string, Decision> | undefined; rest: NameStatement[] } => {
    let exact: Map<string, Decision> | undefined;
    const rest: NameStatement[] = [];
    for (const b of list) {
      const perGlob = residuals(b);
      if (b.not) {
        rest.push({ not: true, globs: perGlob.flat(), decisions: b.decisions, dynamic: b.dynamic });
        continue;
      }
      const globs: Glob[] = [];
      const decisions: Decision[] = [];
      perGlob.forEach((rs, k) => {
        for (const r of rs) {
          if (b.dynamic === undefined && isExactGlob(r)) {
            exact ??= new Map();
            if (!exact.has(r.head)) exact.set(r.head, b.decisions[k]!);
          } else {
            globs.push(r);
            decisions.push(b.decisions[k]!);
          }
        }
      });
      if (globs.length > 0) rest.push({ not: false, globs, decisions, dynamic: b.dynamic });
    }
    return { exact, rest };
  };
  const d = split(deny);
  const a = split(allow);
  return { prefix, denyExact: d.exact, deny: d.rest, allowExact: a.exact, allow: a.rest };
}

/**
 * Compiles the default versions of the policies that apply to a principal for one connection.
 * `scope` is the server's region and account: requests for its ARNs are matched by name.
 * Order of policies and statements does not change any decision (spec section 7).
 */
export function compilePolicies(policies: readonly PolicyVersionInput[], context: PolicyContext, scope: AccountScope): CompiledPolicySet {
  const statements: BoundStatement[] = [];
  for (const p of policies) for (const st of p.document.statements) statements.push(bindStatement(p, st, context));
  const memo = new Map<BoundStatement, Map<string, Glob[][]>>();
  const plans: ActionPlan[] = iotActions.map((action) => {
    if (!statements.some((b) => b.statement.actions.includes(action))) return emptyPlan;
    const deny: BoundStatement[] = [];
    const allow: BoundStatement[] = [];
    const missing = new Set<string>();
    for (const b of statements) {
      if (!b.statement.actions.includes(action)) continue;
      if (b.status.kind !== 'active') {
        for (const m of b.status.missing) missing.add(m);
        continue;
      }
      (b.ref.effect === 'Deny' ? deny : allow).push(b);
    }
    const noMatch: Decision = missing.size === 0 ? noMatchPlain : { allowed: false, reason: 'no-matching-allow', missingContextValues: [...missing] };
    const cacheable = [...deny, ...allow].every((b) => b.dynamic === undefined);
    const type = actionResourceType[action];
    const names = type === '*' ? undefined : namePlan(`arn:aws:iot:${scope.region}:${scope.accountId}:${type}/`, deny, allow, memo);
    return { deny, allow, names, noMatch, cacheable };
  });
  return new CompiledPolicySet(
    context,
    scope,
    policies.map((p) => ({ policyName: p.policyName, policyVersionId: p.policyVersionId })),
    plans,
    statements,
  );
}
