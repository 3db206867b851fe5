/**
 * Functions that call other services (spec/iot-sql.md section 7, "External"). [DECISION]
 * get_thing_shadow reads Thingcore's own shadows and aws_lambda calls a pluggable hook, both
 * through the EvaluationContext; a rule using either is asynchronous (every other rule evaluates
 * synchronously). Without a hook they answer Undefined. get_dynamodb, get_secret,
 * get_registry_data and machinelearning_predict are recognised (arity, version) and answer
 * Undefined until implemented. None may appear in error actions.
 */
import { fromExternal, toExternal, toStr, type SqlValue } from '../sql/values.js';
import { def, V2016, type FunctionDef } from './function.js';

const none = (): SqlValue => undefined;

export const EXTERNAL_FUNCTIONS: readonly FunctionDef[] = [
  def('aws_lambda(functionArn, payload)', 2, 2, none, {
    pure: false,
    external: async (args, run) => {
      const hook = run.msg.ctx.invokeLambda;
      const arn = toStr(args[0]);
      if (hook === undefined || arn === undefined) return undefined;
      return fromExternal(await hook.call(run.msg.ctx, arn, toExternal(args[1])));
    },
  }),
  def('get_thing_shadow(thingName[, shadowName], roleArn)', 2, 3, none, {
    since: V2016,
    pure: false,
    external: async (args, run) => {
      const hook = run.msg.ctx.getThingShadow;
      const thing = toStr(args[0]);
      const shadow = args.length === 3 ? toStr(args[1]) : undefined;
      const role = toStr(args[args.length - 1]);
      if (hook === undefined || thing === undefined || role === undefined) return undefined;
      if (args.length === 3 && shadow === undefined) return undefined;
      return fromExternal(await hook.call(run.msg.ctx, thing, shadow, role));
    },
  }),
  def('get_dynamodb(tableName, partitionKeyName, partitionKeyValue[, sortKeyName, sortKeyValue], roleArn)', 4, 6, none, {
    since: V2016,
    pure: false,
    billed: true,
    arities: [4, 6],
  }),
  def('get_secret(secretId, secretType[, key], roleArn)', 3, 4, none, { pure: false, billed: true }),
  def('get_registry_data(registryAPI, thingName, roleArn)', 3, 3, none, { pure: false, billed: true }),
  def('machinelearning_predict(modelId, roleArn, record)', 3, 3, none, { pure: false, billed: true }),
];
