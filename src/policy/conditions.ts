/**
 * Condition operators (spec/policy.md section 6; IAM semantics): String*, Arn*, Bool, IpAddress,
 * NotIpAddress, Null, the set qualifiers `ForAllValues:`/`ForAnyValue:` and the `IfExists` suffix.
 *
 * Evaluation of one clause `{ Op: { key: [v1, v2] } }` (IAM rules):
 *  - values of one key are OR'ed; keys of one operator and operators of one block are AND'ed
 *    (the caller ANDs clauses);
 *  - key absent from the context: `...IfExists` → true; `ForAllValues:` → true (empty set);
 *    `ForAnyValue:` → false; a negated operator (StringNotEquals, StringNotLike, ArnNotEquals,
 *    ArnNotLike, NotIpAddress, StringNotEqualsIgnoreCase) → true; otherwise false
 *    (IAM condition-operator reference: "If the policy condition requires that the key is not
 *    matched … and the right key is not present, the condition is true");
 *  - `Null`: "true" holds when the key is absent, "false" when it is present;
 *  - a set key without a qualifier: a positive operator needs one element to match, a negated one
 *    needs every element to not match.
 */
import { BlockList, isIP } from 'node:net';
import { compileGlob, globMatches, type Glob, type GlobToken } from './glob.js';
import type { ContextKey, ContextValue } from './context.js';
import type { Template } from './template.js';

export const conditionOperators = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'ArnEquals',
  'ArnNotEquals',
  'ArnLike',
  'ArnNotLike',
  'Bool',
  'IpAddress',
  'NotIpAddress',
  'Null',
] as const;
export type ConditionOperator = (typeof conditionOperators)[number];
export type SetQualifier = 'ForAllValues' | 'ForAnyValue';

const negated: ReadonlySet<ConditionOperator> = new Set([
  'StringNotEquals',
  'StringNotEqualsIgnoreCase',
  'StringNotLike',
  'ArnNotEquals',
  'ArnNotLike',
  'NotIpAddress',
]);
/** Operators whose values may hold policy variables (IAM: String and Arn operators). */
export const takesVariables: ReadonlySet<ConditionOperator> = new Set(conditionOperators.filter((o) => o.startsWith('String') || o.startsWith('Arn')));
const operatorByLower = new Map<string, ConditionOperator>(conditionOperators.map((o) => [o.toLowerCase(), o]));

export type OperatorParse =
  | { readonly ok: true; readonly operator: ConditionOperator; readonly qualifier?: SetQualifier; readonly ifExists: boolean }
  | { readonly ok: false; readonly message: string };

export function parseOperator(written: string): OperatorParse {
  let rest = written;
  let qualifier: SetQualifier | undefined;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const q = rest.slice(0, colon).toLowerCase();
    if (q === 'forallvalues') qualifier = 'ForAllValues';
    else if (q === 'foranyvalue') qualifier = 'ForAnyValue';
    else return { ok: false, message: `unknown set qualifier "${rest.slice(0, colon)}" (use ForAllValues: or ForAnyValue:)` };
    rest = rest.slice(colon + 1);
  }
  let ifExists = false;
  if (rest.toLowerCase().endsWith('ifexists')) {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  const operator = operatorByLower.get(rest.toLowerCase());
  if (operator === undefined) {
    return { ok: false, message: `unsupported condition operator "${written}"; supported: ${conditionOperators.join(', ')} (with optional ForAllValues:/ForAnyValue: and IfExists)` };
  }
  if (operator === 'Null' && (ifExists || qualifier !== undefined)) {
    return { ok: false, message: `"${written}": Null takes neither IfExists nor a set qualifier` };
  }
  return qualifier === undefined ? { ok: true, operator, ifExists } : { ok: true, operator, qualifier, ifExists };
}

/** An IP range of an IpAddress/NotIpAddress value. */
export interface IpRange {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

export function parseIpRange(value: string): IpRange | undefined {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const v = isIP(address);
  if (v === 0) return undefined;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  const max = v === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family };
  const p = value.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(p) || Number(p) > max) return undefined;
  return { address, prefix: Number(p), family };
}

/** One parsed clause: an operator applied to one key with its values. */
export interface ConditionClause {
  /** The operator as written, e.g. `ForAnyValue:StringEquals`. */
  readonly operatorAsWritten: string;
  readonly operator: ConditionOperator;
  readonly qualifier?: SetQualifier;
  readonly ifExists: boolean;
  /** The key as written. */
  readonly keyAsWritten: string;
  readonly key: ContextKey;
  readonly values: readonly Template[];
  /** IpAddress/NotIpAddress: the parsed ranges (same order as values). */
  readonly ipRanges?: readonly IpRange[];
}

/** A clause with its values bound to one connection, ready to test. */
export interface BoundCondition {
  readonly clause: ConditionClause;
  readonly test: (value: ContextValue) => boolean;
  /** For people: `StringEquals iot:ClientId ["a","b"]` with variables substituted. */
  readonly display: string;
}

type ValueTest = (v: string) => boolean;

function arnGlobs(tokens: readonly GlobToken[]): Glob[] | undefined {
  // Split the token stream into the 6 ARN components at the first five ':' of literal text.
  const components: GlobToken[][] = [[]];
  for (const t of tokens) {
    if (typeof t !== 'string' || components.length === 6) {
      components[components.length - 1]!.push(t);
      continue;
    }
    let rest = t;
    let colon = rest.indexOf(':');
    while (colon >= 0 && components.length < 6) {
      components[components.length - 1]!.push(rest.slice(0, colon));
      components.push([]);
      rest = rest.slice(colon + 1);
      colon = rest.indexOf(':');
    }
    components[components.length - 1]!.push(rest);
  }
  return components.length === 6 ? components.map(compileGlob) : undefined;
}

function arnMatches(globs: readonly Glob[], arn: string): boolean {
  let start = 0;
  for (let i = 0; i < 5; i++) {
    const colon = arn.indexOf(':', start);
    if (colon < 0) return false;
    if (!globMatches(globs[i]!, arn.slice(start, colon))) return false;
    start = colon + 1;
  }
  return globMatches(globs[5]!, arn.slice(start));
}

function normalizeIp(ip: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  let a = ip;
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped !== null) a = mapped[1]!;
  const v = isIP(a);
  return v === 0 ? undefined : { address: a, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** Builds the positive test of one policy value (the caller negates for negated operators). */
function valueTest(operator: ConditionOperator, tokens: readonly GlobToken[], literal: string, range: IpRange | undefined): ValueTest {
  switch (operator) {
    case 'StringEquals':
    case 'StringNotEquals':
      return (v) => v === literal;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase': {
      const lower = literal.toLowerCase();
      return (v) => v.toLowerCase() === lower;
    }
    case 'StringLike':
    case 'StringNotLike': {
      const g = compileGlob(tokens);
      return (v) => globMatches(g, v);
    }
    case 'ArnEquals':
    case 'ArnNotEquals':
    case 'ArnLike':
    case 'ArnNotLike': {
      // IAM: both compare the six colon-separated components separately, wildcards allowed.
      const globs = arnGlobs(tokens);
      return globs === undefined ? () => false : (v) => arnMatches(globs, v);
    }
    case 'Bool': {
      const lower = literal.toLowerCase();
      return (v) => v.toLowerCase() === lower;
    }
    case 'IpAddress':
    case 'NotIpAddress': {
      if (range === undefined) return () => false;
      const list = new BlockList();
      list.addSubnet(range.address, range.prefix, range.family);
      return (v) => {
        const ip = normalizeIp(v);
        return ip !== undefined && list.check(ip.address, ip.family);
      };
    }
    case 'Null':
      return () => false; // handled by the caller
  }
}

/**
 * Binds a clause's values (already substituted into tokens and literal strings by the caller)
 * into a test of the key's value.
 */
export function bindCondition(clause: ConditionClause, values: readonly { tokens: readonly GlobToken[]; literal: string }[]): BoundCondition {
  const { operator, qualifier, ifExists } = clause;
  const display = `${clause.operatorAsWritten} ${clause.key.name} ${JSON.stringify(values.map((v) => v.literal))}`;
  if (operator === 'Null') {
    const wantAbsent = values.map((v) => v.literal.toLowerCase() === 'true');
    return {
      clause,
      display,
      test: (value) => {
        const absent = value === undefined || (typeof value !== 'string' && value.length === 0);
        return wantAbsent.some((w) => w === absent);
      },
    };
  }
  const tests = values.map((v, i) => valueTest(operator, v.tokens, v.literal, clause.ipRanges?.[i]));
  const isNegated = negated.has(operator);
  const one = (v: string): boolean => {
    let any = false;
    for (const t of tests) {
      if (t(v)) {
        any = true;
        break;
      }
    }
    return isNegated ? !any : any;
  };
  const test = (value: ContextValue): boolean => {
    const absent = value === undefined || (qualifier === undefined && typeof value !== 'string' && value.length === 0);
    if (absent) {
      if (ifExists) return true;
      if (qualifier === 'ForAllValues') return true;
      if (qualifier === 'ForAnyValue') return false;
      return isNegated;
    }
    if (typeof value === 'string') return one(value);
    if (qualifier === 'ForAllValues') return value.every(one);
    if (qualifier === 'ForAnyValue') return value.some(one);
    return isNegated ? value.every(one) : value.some(one);
  };
  return { clause, display, test };
}
