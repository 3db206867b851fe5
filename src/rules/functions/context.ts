/**
 * Message-context functions (spec/iot-sql.md section 7, "Message context"): what the rules engine
 * knows about the message rather than what is in it. They read the EvaluationContext the engine
 * passes for each message, so they are never folded at compile time.
 */
import { randomUUID } from 'node:crypto';
import { toIndex, type SqlValue } from '../sql/values.js';
import { def, type FunctionDef } from './function.js';

function optional(v: string | undefined): SqlValue {
  return v === undefined ? undefined : v;
}

const CONTEXT = { pure: false } as const;

export const CONTEXT_FUNCTIONS: readonly FunctionDef[] = [
  def(
    'topic([level])',
    0,
    1,
    (args, run) => {
      if (args.length === 0) return run.msg.topic;
      const n = toIndex(args[0]);
      if (n === undefined) return undefined;
      return run.msg.level(n); // [DECISION] out of range → Undefined
    },
    CONTEXT,
  ),
  def('clientid()', 0, 0, (_args, run) => run.msg.ctx.clientId ?? 'n/a', CONTEXT),
  def('principal()', 0, 0, (_args, run) => optional(run.msg.ctx.principal), CONTEXT),
  def('traceid()', 0, 0, (_args, run) => optional(run.msg.ctx.traceId), CONTEXT),
  def('timestamp()', 0, 0, (_args, run) => run.msg.ctx.timestamp, CONTEXT),
  def('newuuid()', 0, 0, () => randomUUID(), CONTEXT),
  def('accountid()', 0, 0, (_args, run) => optional(run.msg.ctx.accountId), CONTEXT),
  def('sql_version()', 0, 0, (_args, run) => run.version, CONTEXT),
  def('sourceip()', 0, 0, (_args, run) => optional(run.msg.ctx.sourceIp), CONTEXT),
  def(
    'get_mqtt_property(name)',
    1,
    1,
    (args, run) => {
      const name = args[0];
      const props = run.msg.ctx.mqttProperties;
      if (typeof name !== 'string' || props === undefined || !Object.hasOwn(props, name)) return undefined;
      return props[name];
    },
    CONTEXT,
  ),
  def(
    'get_user_properties(key)',
    1,
    1,
    (args, run) => {
      const key = args[0];
      const props = run.msg.ctx.userProperties;
      if (typeof key !== 'string' || props === undefined) return undefined;
      const values = props.filter(([k]) => k === key).map(([, v]) => v);
      return values.length === 0 ? undefined : values;
    },
    CONTEXT,
  ),
];
