/**
 * A policy document (spec/policy.md section 2): the string a user stores, parsed once into a
 * normalized, validated form. A bad document is refused with MalformedPolicyException whose message
 * says what is wrong and where (`Statement[1].Effect: …`), every problem found, not just the first.
 */
import { AwsErrors } from '../shared/index.js';
import type { IotAction } from './actions.js';
import type { ConditionClause } from './conditions.js';
import type { Template } from './template.js';
import { validatePolicyObject } from './validate.js';

export type PolicyLanguageVersion = '2012-10-17' | '2008-10-17';
export type Effect = 'Allow' | 'Deny';

export interface PolicyStatement {
  /** Position in the Statement array (0 when Statement is a single object). */
  readonly index: number;
  /** Where it is, for messages: `Statement[2]`, or `Statement` for a single object. */
  readonly path: string;
  readonly sid?: string;
  readonly effect: Effect;
  readonly actionElement: 'Action' | 'NotAction';
  /** The Action/NotAction values as written. */
  readonly actionPatterns: readonly string[];
  /** The actions the statement applies to, NotAction already inverted. */
  readonly actions: readonly IotAction[];
  readonly resourceElement: 'Resource' | 'NotResource';
  readonly resources: readonly Template[];
  /** AND'ed. */
  readonly conditions: readonly ConditionClause[];
}

export interface PolicyDocument {
  readonly version: PolicyLanguageVersion;
  readonly id?: string;
  readonly statements: readonly PolicyStatement[];
  /** Things AWS accepts but that are probably mistakes (unknown variables, resource type vs action). */
  readonly warnings: readonly string[];
}

/** AWS: 1–2048 characters, whitespace excluded (spec/policy.md section 8). */
export const maxPolicyDocumentChars = 2048;

export type PolicyValidation =
  | { readonly ok: true; readonly document: PolicyDocument }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Checks a policy document without throwing (for the CLI and TestAuthorization-style tools). */
export function validatePolicyDocument(text: string): PolicyValidation {
  const stripped = text.replace(/\s+/gu, '');
  let chars = stripped.length;
  if (chars > maxPolicyDocumentChars) {
    chars = 0;
    for (const _ of stripped) chars++; // code points, not UTF-16 units
  }
  if (chars === 0) return { ok: false, errors: ['the document is empty'] };
  if (chars > maxPolicyDocumentChars) {
    return { ok: false, errors: [`the document has ${chars} characters without whitespace; the limit is ${maxPolicyDocumentChars}`] };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err: unknown) {
    const detail = err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [`not valid JSON (${detail})`] };
  }
  return validatePolicyObject(raw);
}

/** Parses and validates a policy document; throws MalformedPolicyException (400). */
export function parsePolicyDocument(text: string): PolicyDocument {
  const result = validatePolicyDocument(text);
  if (!result.ok) throw AwsErrors.malformedPolicy(`The policy document is not valid: ${result.errors.join('; ')}`);
  return result.document;
}
