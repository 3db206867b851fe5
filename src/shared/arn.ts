/** ARNs as AWS IoT forms them (spec/http-api.md section 2). */
export interface AccountScope {
  readonly region: string;
  readonly accountId: string;
}

export type IotResourceType = 'thing' | 'thingtype' | 'cert' | 'cacert' | 'policy' | 'rule' | 'topic' | 'topicfilter' | 'client';

export function iotArn(scope: AccountScope, type: IotResourceType, name: string): string {
  return `arn:aws:iot:${scope.region}:${scope.accountId}:${type}/${name}`;
}

/** Splits `arn:aws:iot:<region>:<account>:<type>/<rest>`; undefined when it is not an IoT ARN. */
export function parseIotArn(arn: string): { region: string; accountId: string; type: string; resource: string } | undefined {
  const m = /^arn:aws:iot:([^:]*):([^:]*):([^/]+)\/(.*)$/s.exec(arn);
  if (!m) return undefined;
  return { region: m[1]!, accountId: m[2]!, type: m[3]!, resource: m[4]! };
}
