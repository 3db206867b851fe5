/**
 * Shadow identity: name rules (spec/shadow.md 1, spec/http-api.md section 2) and the reserved topics
 * a shadow answers on (spec/shadow.md 2).
 *
 *   classic  $aws/things/{thingName}/shadow/{suffix}
 *   named    $aws/things/{thingName}/shadow/name/{shadowName}/{suffix}
 */
import { ShadowErrors, type ShadowError } from './errors.js';

export type ShadowOperation = 'get' | 'update' | 'delete';

/** Every topic suffix the service publishes on. */
export type ShadowReplySuffix =
  | 'get/accepted'
  | 'get/rejected'
  | 'update/accepted'
  | 'update/rejected'
  | 'update/delta'
  | 'update/documents'
  | 'delete/accepted'
  | 'delete/rejected';

const thingNameRule = { pattern: '[a-zA-Z0-9:_-]+', regex: /^[a-zA-Z0-9:_-]+$/, maxLength: 128 } as const;
const shadowNameRule = { pattern: '[$a-zA-Z0-9:_-]+', regex: /^[$a-zA-Z0-9:_-]+$/, maxLength: 64 } as const;

function check(member: 'thingName' | 'shadowName', value: string, rule: typeof thingNameRule | typeof shadowNameRule): ShadowError | undefined {
  // The patterns are ASCII only, so a valid name's length in characters is its length in bytes.
  if (value.length === 0) return ShadowErrors.invalidName(member, value, 'Member must have length greater than or equal to 1');
  if (value.length > rule.maxLength) {
    return ShadowErrors.invalidName(member, value, `Member must have length less than or equal to ${rule.maxLength}`);
  }
  if (!rule.regex.test(value)) return ShadowErrors.invalidName(member, value, `Member must satisfy regular expression pattern: ${rule.pattern}`);
  return undefined;
}

/** The first problem with a (thingName, shadowName) pair; undefined when both are valid. */
export function checkShadowNames(thingName: string, shadowName: string | undefined): ShadowError | undefined {
  return check('thingName', thingName, thingNameRule) ?? (shadowName === undefined ? undefined : check('shadowName', shadowName, shadowNameRule));
}

export function checkThingName(thingName: string): ShadowError | undefined {
  return check('thingName', thingName, thingNameRule);
}

/** `$aws/things/{thingName}/shadow[/name/{shadowName}]`. */
export function shadowTopicPrefix(thingName: string, shadowName: string | undefined): string {
  return shadowName === undefined ? `$aws/things/${thingName}/shadow` : `$aws/things/${thingName}/shadow/name/${shadowName}`;
}

/** A request topic taken apart; undefined when `topic` is not a shadow request topic. */
export function parseShadowRequestTopic(
  topic: string,
): { readonly thingName: string; readonly shadowName: string | undefined; readonly operation: ShadowOperation } | undefined {
  const levels = topic.split('/');
  if (levels[0] !== '$aws' || levels[1] !== 'things' || levels[3] !== 'shadow') return undefined;
  const thingName = levels[2] as string;
  let shadowName: string | undefined;
  let op: string | undefined;
  if (levels.length === 5) {
    op = levels[4];
  } else if (levels.length === 7 && levels[4] === 'name') {
    shadowName = levels[5];
    op = levels[6];
  } else {
    return undefined;
  }
  if (op !== 'get' && op !== 'update' && op !== 'delete') return undefined;
  return { thingName, shadowName, operation: op };
}

/** The filters of every request topic (classic and named), for Broker.addConsumer. */
export const shadowRequestFilters: readonly string[] = [
  '$aws/things/+/shadow/get',
  '$aws/things/+/shadow/update',
  '$aws/things/+/shadow/delete',
  '$aws/things/+/shadow/name/+/get',
  '$aws/things/+/shadow/name/+/update',
  '$aws/things/+/shadow/name/+/delete',
];
