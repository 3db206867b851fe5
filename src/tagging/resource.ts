/**
 * Which resource a `resourceArn` names, in the form the TagStore keys it. The ARN shapes are
 * spec/http-api.md section 2's (`arn:aws:iot:<region>:<account>:<type>/<id>`), and the types
 * Thingcore can tag are the resources it has: thing, thingtype, policy, rule, cert, cacert.
 *
 *   arn:aws:iot:us-east-1:000000000000:thing/sensor-1   → { resourceType: 'thing', resourceId: 'sensor-1' }
 *   arn:aws:iot:us-east-1:000000000000:cert/ABC…        → { resourceType: 'cert',  resourceId: 'abc…' }
 *
 * Not an IoT ARN, or a resource type Thingcore has none of (thinggroup, job, …), or no id:
 * InvalidRequestException. Another account or region: ResourceNotFoundException (nothing of
 * theirs exists here). Certificate ids are lower-cased, as identity computes them.
 */
import { AwsErrors, parseIotArn } from '../shared/index.js';
import type { AccountScope } from '../shared/index.js';
import type { TaggableResourceType, TaggedResource } from '../store/index.js';
import { problem, validationFailure } from './tags.js';

export const taggableResourceTypes: readonly TaggableResourceType[] = ['thing', 'thingtype', 'policy', 'rule', 'cert', 'cacert'];

const isTaggable = (type: string): type is TaggableResourceType => (taggableResourceTypes as readonly string[]).includes(type);

/** The resource `resourceArn` names; see the header for the errors. */
export function taggedResourceOf(scope: AccountScope, resourceArn: unknown, member = 'resourceArn'): TaggedResource {
  if (resourceArn === undefined || resourceArn === null || resourceArn === '') throw validationFailure([problem(member, null, 'Member must not be null')]);
  if (typeof resourceArn !== 'string') throw validationFailure([problem(member, resourceArn, 'Member must be a string')]);
  const arn = parseIotArn(resourceArn);
  if (arn === undefined) {
    throw AwsErrors.invalidRequest(`Invalid ${member} '${clip(resourceArn)}': expected an AWS IoT ARN, arn:aws:iot:<region>:<account>:<resource-type>/<resource-id>`);
  }
  if (!isTaggable(arn.type)) {
    throw AwsErrors.invalidRequest(
      `Invalid ${member} '${clip(resourceArn)}': Thingcore tags only these resource types: ${taggableResourceTypes.join(', ')} (not ${arn.type})`,
    );
  }
  if (arn.resource === '') throw AwsErrors.invalidRequest(`Invalid ${member} '${clip(resourceArn)}': it names no resource after '${arn.type}/'`);
  if (arn.region !== scope.region || arn.accountId !== scope.accountId) {
    throw AwsErrors.resourceNotFound(`The resource ${clip(resourceArn)} does not exist: this server is account ${scope.accountId} in ${scope.region}`);
  }
  const resourceId = arn.type === 'cert' || arn.type === 'cacert' ? arn.resource.toLowerCase() : arn.resource;
  return { resourceType: arn.type, resourceId };
}

function clip(text: string): string {
  return text.length > 256 ? `${text.slice(0, 256)}...` : text;
}
