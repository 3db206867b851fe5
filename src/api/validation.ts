/**
 * AWS name patterns (spec/http-api.md section 2), checked the way AWS reports them: 400
 * InvalidRequestException with "N validation error(s) detected: Value 'x' at 'thingName' failed to
 * satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+".
 */
import { AwsErrors } from '../shared/index.js';

export interface NameRule {
  /** The pattern as the AWS model writes it (shown in messages); matched against the whole value. */
  readonly pattern: string;
  readonly minLength: number;
  readonly maxLength: number;
}

/** spec/http-api.md section 2 "Name patterns". */
export const nameRules = {
  thingName: { pattern: '[a-zA-Z0-9:_-]+', minLength: 1, maxLength: 128 },
  thingTypeName: { pattern: '[a-zA-Z0-9:_-]+', minLength: 1, maxLength: 128 },
  policyName: { pattern: '[\\w+=,.@-]+', minLength: 1, maxLength: 128 },
  ruleName: { pattern: '^[a-zA-Z0-9_]+$', minLength: 1, maxLength: 128 },
  shadowName: { pattern: '[$a-zA-Z0-9:_-]+', minLength: 1, maxLength: 64 },
  attributeName: { pattern: '[a-zA-Z0-9_.,@/:#-]+', minLength: 1, maxLength: 128 },
  attributeValue: { pattern: '[a-zA-Z0-9_.,@/:#=\\[\\]-]*', minLength: 0, maxLength: 800 },
  certificateId: { pattern: '(0x)?[a-fA-F0-9]+', minLength: 64, maxLength: 64 },
  policyVersionId: { pattern: '[0-9]+', minLength: 1, maxLength: 10 },
} as const satisfies Record<string, NameRule>;

export type NameKind = keyof typeof nameRules;

const compiled = new Map<string, RegExp>();
function wholeMatch(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = new RegExp(`^(?:${pattern.replace(/^\^/, '').replace(/\$$/, '')})$`, 'u');
    compiled.set(pattern, re);
  }
  return re;
}

/** The constraint violations of `value` under `rule` (empty when valid); length counted in characters. */
export function nameViolations(value: string, rule: NameRule): string[] {
  const problems: string[] = [];
  const length = [...value].length;
  if (length > rule.maxLength) problems.push(`Member must have length less than or equal to ${rule.maxLength}`);
  if (length < rule.minLength) problems.push(`Member must have length greater than or equal to ${rule.minLength}`);
  if (!wholeMatch(rule.pattern).test(value)) problems.push(`Member must satisfy regular expression pattern: ${rule.pattern}`);
  return problems;
}

/**
 * Throws 400 InvalidRequestException unless `value` satisfies the named rule. `member` is the name
 * shown in the message (default: the kind, e.g. `thingName`). Returns the value for chaining.
 */
export function validateName(kind: NameKind | NameRule, value: string, member?: string): string {
  const rule = typeof kind === 'string' ? nameRules[kind] : kind;
  const problems = nameViolations(value, rule);
  if (problems.length === 0) return value;
  const at = member ?? (typeof kind === 'string' ? kind : 'value');
  const shown = value.length > 256 ? `${value.slice(0, 256)}...` : value;
  const list = problems.map((p) => `Value '${shown}' at '${at}' failed to satisfy constraint: ${p}`).join('; ');
  const count = problems.length === 1 ? '1 validation error detected' : `${problems.length} validation errors detected`;
  throw AwsErrors.invalidRequest(`${count}: ${list}`);
}
