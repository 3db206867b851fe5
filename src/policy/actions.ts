/**
 * The data-plane actions an IoT policy can grant (spec/policy.md section 3) and the IAM-style
 * action patterns that name them (`iot:*`, `iot:Get*`, `iot:?eceive`). Action names compare
 * case-insensitively (spec section 2, [DECISION]); a statement's Action/NotAction is resolved here,
 * once, to the set of known actions it covers, so evaluation never matches action strings.
 */
import { globToRegExp } from './glob.js';

/** Every action an IoT policy may name, in canonical spelling (spec/policy.md section 3). */
export const iotActions = [
  'iot:Connect',
  'iot:Publish',
  'iot:Subscribe',
  'iot:Receive',
  'iot:RetainPublish',
  'iot:GetRetainedMessage',
  'iot:ListRetainedMessages',
  'iot:GetThingShadow',
  'iot:UpdateThingShadow',
  'iot:DeleteThingShadow',
  'iot:ListNamedShadowsForThing',
  'iot:DeleteConnection',
  'iot:DescribeJobExecution',
  'iot:GetPendingJobExecutions',
  'iot:UpdateJobExecution',
  'iot:StartNextPendingJobExecution',
  'iot:AssumeRoleWithCertificate',
] as const;

export type IotAction = (typeof iotActions)[number];

/**
 * The resource type each action is checked against (spec/policy.md section 3): the request's
 * resource is `arn:aws:iot:<region>:<account>:<type>/<name>`, or the string `*` for the actions
 * whose resource is "All".
 */
export const actionResourceType: Readonly<Record<IotAction, 'client' | 'topic' | 'topicfilter' | 'thing' | 'rolealias' | '*'>> = {
  'iot:Connect': 'client',
  'iot:DeleteConnection': 'client',
  'iot:Publish': 'topic',
  'iot:RetainPublish': 'topic',
  'iot:Receive': 'topic',
  'iot:GetRetainedMessage': 'topic',
  'iot:Subscribe': 'topicfilter',
  'iot:GetThingShadow': 'thing',
  'iot:UpdateThingShadow': 'thing',
  'iot:DeleteThingShadow': 'thing',
  'iot:DescribeJobExecution': 'thing',
  'iot:GetPendingJobExecutions': 'thing',
  'iot:UpdateJobExecution': 'thing',
  'iot:StartNextPendingJobExecution': 'thing',
  'iot:AssumeRoleWithCertificate': 'rolealias',
  'iot:ListRetainedMessages': '*',
  'iot:ListNamedShadowsForThing': '*',
};

/** Index of each action in `iotActions`: the compiled set keeps one statement list per index. */
const actionIndexByName = new Map<string, number>();
iotActions.forEach((action, i) => {
  actionIndexByName.set(action, i);
  actionIndexByName.set(action.toLowerCase(), i);
});

/** Index of an action in `iotActions`, any case; -1 when it is not an IoT policy action. */
export function actionIndex(action: string): number {
  const exact = actionIndexByName.get(action);
  if (exact !== undefined) return exact;
  return actionIndexByName.get(action.toLowerCase()) ?? -1;
}

export function isIotAction(action: string): action is IotAction {
  return actionIndexByName.has(action);
}

export type ActionPatternResult =
  | { readonly ok: true; readonly actions: readonly IotAction[] }
  | { readonly ok: false; readonly message: string };

/**
 * Resolves one Action/NotAction value to the known actions it names. IAM rules: `*` alone is every
 * action; otherwise `<vendor>:<name>` where the vendor has no wildcard and the name may use `*`/`?`.
 * A name (or pattern) naming no IoT policy action is refused: AWS IAM would store it, but in an IoT
 * policy it can only be a typo that silently grants nothing.
 */
export function resolveActionPattern(pattern: string): ActionPatternResult {
  if (pattern === '*') return { ok: true, actions: iotActions };
  const colon = pattern.indexOf(':');
  if (colon < 0) return { ok: false, message: `"${pattern}" is not an action: write iot:<Action> (e.g. iot:Publish) or *` };
  const vendor = pattern.slice(0, colon);
  const name = pattern.slice(colon + 1);
  if (/[*?]/.test(vendor)) return { ok: false, message: `"${pattern}": the service prefix may not contain wildcards` };
  if (vendor.toLowerCase() !== 'iot') {
    return { ok: false, message: `"${pattern}": IoT policies grant only iot: actions (service prefix "${vendor}")` };
  }
  if (name === '') return { ok: false, message: `"${pattern}": missing action name after "iot:"` };
  if (!/^[A-Za-z*?]+$/.test(name)) return { ok: false, message: `"${pattern}": an action name has only letters and the wildcards * and ?` };
  if (!/[*?]/.test(name)) {
    const i = actionIndex(`iot:${name}`);
    if (i < 0) return { ok: false, message: `unknown action "${pattern}"; known: ${iotActions.join(', ')}` };
    return { ok: true, actions: [iotActions[i]!] };
  }
  const re = globToRegExp(name.toLowerCase());
  const actions = iotActions.filter((a) => re.test(a.slice(4).toLowerCase()));
  if (actions.length === 0) return { ok: false, message: `"${pattern}" matches no IoT policy action; known: ${iotActions.join(', ')}` };
  return { ok: true, actions };
}
