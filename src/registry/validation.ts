/**
 * Input checks of the registry, with AWS's wording (spec/http-api.md section 2 for the patterns):
 * every problem of one request is collected and thrown as one InvalidRequestException,
 *
 *   "2 validation errors detected: Value 'a b' at 'thingName' failed to satisfy constraint: Member
 *    must satisfy regular expression pattern: [a-zA-Z0-9:_-]+; Value '0' at 'maxResults' ..."
 *
 * The service checks its inputs itself (the CLI and core call it without going through api/), and
 * checks types too, because a JavaScript caller can pass anything.
 */
import { AwsErrors, parseIotArn, type AccountScope } from '../shared/index.js';
import type { ThingPrincipalType } from './model.js';

export interface PatternRule {
  /** As the AWS model writes it (shown in messages); matched against the whole value. */
  readonly pattern: string;
  readonly regex: RegExp;
  readonly minLength: number;
  readonly maxLength: number;
}

/** `regexSource` when the model's pattern is not JavaScript (`\\p{Graph}`). */
const rule = (pattern: string, minLength: number, maxLength: number, regexSource = pattern): PatternRule => ({
  pattern,
  regex: new RegExp(`^(?:${regexSource})$`, 'u'),
  minLength,
  maxLength,
});

/** spec/http-api.md section 2; billingGroupName from the AWS IoT model (tags are tagging/'s). */
export const rules = {
  thingName: rule('[a-zA-Z0-9:_-]+', 1, 128),
  thingTypeName: rule('[a-zA-Z0-9:_-]+', 1, 128),
  billingGroupName: rule('[a-zA-Z0-9:_-]+', 1, 128),
  attributeName: rule('[a-zA-Z0-9_.,@/:#-]+', 1, 128),
  attributeValue: rule('[a-zA-Z0-9_.,@/:#=\\[\\]-]*', 0, 800),
  // \p{Graph} (POSIX graph: visible characters) = neither other (C) nor separator (Z).
  thingTypeDescription: rule('[\\p{Graph}\\x20]*', 0, 2028, '(?:[^\\p{C}\\p{Z}]|\\x20)*'),
  principal: rule('[\\s\\S]*', 1, 2048),
} as const;

/** Attribute limits (spec/http-api.md 3.1): without a thing type / with one. */
export const maxAttributesWithoutType = 3;
export const maxAttributesWithType = 50;
export const maxSearchableAttributes = 3;
export const maxPageSize = 250;
export const defaultPageSize = 50;

/** Collects problems; `throwIfAny()` throws them as one InvalidRequestException. */
export class Problems {
  readonly #list: string[] = [];

  add(member: string, value: unknown, constraint: string): void {
    this.#list.push(`Value ${show(value)} at '${member}' failed to satisfy constraint: ${constraint}`);
  }

  /** A free-form problem (not a constraint violation). */
  addMessage(message: string): void {
    this.#list.push(message);
  }

  get isEmpty(): boolean {
    return this.#list.length === 0;
  }

  throwIfAny(): void {
    if (this.#list.length === 0) return;
    const count = this.#list.length === 1 ? '1 validation error detected' : `${this.#list.length} validation errors detected`;
    throw AwsErrors.invalidRequest(`${count}: ${this.#list.join('; ')}`);
  }

  /** A string (checked against `r`); `required` adds "must not be null" when absent. */
  string(member: string, value: unknown, r: PatternRule, required: boolean): value is string {
    if (value === undefined || value === null) {
      if (required) this.add(member, null, 'Member must not be null');
      return false;
    }
    if (typeof value !== 'string') {
      this.add(member, value, 'Member must be a string');
      return false;
    }
    const before = this.#list.length;
    for (const problem of patternProblems(value, r)) this.add(member, value, problem);
    return this.#list.length === before;
  }

  boolean(member: string, value: unknown): value is boolean | undefined {
    if (value === undefined || typeof value === 'boolean') return true;
    this.add(member, value, 'Member must be a boolean');
    return false;
  }

  integer(member: string, value: unknown, min?: number, max?: number): value is number | undefined {
    if (value === undefined) return true;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      this.add(member, value, 'Member must be an integer');
      return false;
    }
    if (min !== undefined && value < min) {
      this.add(member, value, `Member must have value greater than or equal to ${min}`);
      return false;
    }
    if (max !== undefined && value > max) {
      this.add(member, value, `Member must have value less than or equal to ${max}`);
      return false;
    }
    return true;
  }

  enumValue<T extends string>(member: string, value: unknown, allowed: readonly T[]): value is T | undefined {
    if (value === undefined || (typeof value === 'string' && (allowed as readonly string[]).includes(value))) return true;
    this.add(member, value, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
    return false;
  }

  /**
   * An attribute map: an object whose own keys and string values satisfy the attribute patterns.
   * Returns it as a Map in the caller's order (a Map, not an object: an attribute may be called
   * `__proto__` or `constructor`), or undefined when absent or broken.
   */
  attributes(member: string, value: unknown): Map<string, string> | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.add(member, value, 'Member must be a map of strings');
      return undefined;
    }
    const out = new Map<string, string>();
    const before = this.#list.length;
    for (const [name, v] of Object.entries(value)) {
      for (const problem of patternProblems(name, rules.attributeName)) {
        this.add(member, name, `Map keys must satisfy constraint: [${problem}]`);
      }
      if (typeof v !== 'string') {
        this.add(`${member}.${name}`, v, 'Member must be a string');
        continue;
      }
      for (const problem of patternProblems(v, rules.attributeValue)) {
        this.add(member, v, `Map value must satisfy constraint: [${problem}]`);
      }
      out.set(name, v);
    }
    return this.#list.length === before ? out : undefined;
  }
}

function show(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return `'${text.length > 256 ? `${text.slice(0, 256)}...` : text}'`;
}

/** The constraint violations of `value` under `r`; length in characters (code points). */
export function patternProblems(value: string, r: PatternRule): string[] {
  const problems: string[] = [];
  const length = [...value].length;
  if (length > r.maxLength) problems.push(`Member must have length less than or equal to ${r.maxLength}`);
  if (length < r.minLength) problems.push(`Member must have length greater than or equal to ${r.minLength}`);
  if (!r.regex.test(value)) problems.push(`Member must satisfy regular expression pattern: ${r.pattern}`);
  return problems;
}

/** Throws InvalidRequestException unless `value` is a string satisfying `r`. */
export function requireName(member: string, value: unknown, r: PatternRule): string {
  const problems = new Problems();
  if (!problems.string(member, value, r, true)) problems.throwIfAny();
  return value as string;
}

/** What kind of principal a thing can be attached to. */
export type ParsedPrincipal =
  | { readonly kind: 'certificate'; readonly certificateId: string; readonly principal: string }
  | { readonly kind: 'cognito'; readonly principal: string }
  | { readonly kind: 'accessKey'; readonly principal: string };

const certificateIdPattern = /^[0-9a-fA-F]{64}$/;
const cognitoIdPattern = /^[a-z]{2}(?:-[a-z]+)+-\d:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const accessKeyIdPattern = /^[A-Z][A-Z0-9]{9,127}$/;

/**
 * A principal as AttachThingPrincipal accepts it (spec/http-api.md 3.4): a certificate ARN of this
 * account and region (its id normalised to lower case, as identity computes ids), a Cognito identity
 * id (`us-east-1:<uuid>`), or an access key id (WebSocket identities, later). Anything else:
 * InvalidRequestException.
 */
export function parsePrincipal(member: string, value: unknown, scope: AccountScope): ParsedPrincipal {
  const problems = new Problems();
  if (!problems.string(member, value, rules.principal, true)) problems.throwIfAny();
  const principal = value as string;
  if (principal.startsWith('arn:')) {
    const arn = parseIotArn(principal);
    if (arn === undefined || arn.type !== 'cert' || !certificateIdPattern.test(arn.resource)) {
      throw AwsErrors.invalidRequest(
        `Invalid principal ${JSON.stringify(principal)}: expected a certificate ARN arn:aws:iot:<region>:<account>:cert/<64 hex digits>`,
      );
    }
    if (arn.region !== scope.region || arn.accountId !== scope.accountId) {
      throw AwsErrors.invalidRequest(
        `Invalid principal ${JSON.stringify(principal)}: the certificate must belong to account ${scope.accountId} in ${scope.region}`,
      );
    }
    const certificateId = arn.resource.toLowerCase();
    return { kind: 'certificate', certificateId, principal: `arn:aws:iot:${arn.region}:${arn.accountId}:cert/${certificateId}` };
  }
  if (cognitoIdPattern.test(principal)) return { kind: 'cognito', principal };
  if (accessKeyIdPattern.test(principal)) return { kind: 'accessKey', principal };
  throw AwsErrors.invalidRequest(
    `Invalid principal ${JSON.stringify(principal)}: expected a certificate ARN, a Cognito identity id or an access key id`,
  );
}

export function isThingPrincipalType(value: unknown): value is ThingPrincipalType {
  return value === 'EXCLUSIVE_THING' || value === 'NON_EXCLUSIVE_THING';
}
