/**
 * The contract between the rule engine and its actions. The engine evaluates a rule's SQL, then
 * hands each action an ActionInput; an action renders its `${...}` templates against the match,
 * delivers the result, and resolves, or rejects with an ActionFailure (which sends the rule's
 * errorAction the AWS-shaped failure record). Actions never block publishing: the engine runs them
 * off the delivery path, with their own timeouts.
 *
 * Adding an action type: a file under actions/ exporting an ActionFactory, listed in actions/index.ts.
 * A rule naming a type no factory serves is refused at CreateTopicRule with InvalidRequestException
 * naming the supported types (never accepted and silently ignored).
 */
import type { RuleMatch } from '../rule.js';
import type { EvaluationContext } from '../sql/runtime.js';

/** What the engine knows about the message that matched. */
export interface ActionInput {
  readonly ruleName: string;
  /** The topic as the rule saw it (Basic Ingest: without the `$aws/rules/<rule>/` prefix). */
  readonly topic: string;
  readonly clientId?: string;
  readonly principal?: string;
  /** The message's original payload (errorAction's base64OriginalPayload). */
  readonly originalPayload: Buffer;
  /** The rule's output: `match.output` (plain data or Buffer) and `match.payload()` (bytes). */
  readonly match: RuleMatch;
  /** The evaluation context the rule used (templates render against it too). */
  readonly context: EvaluationContext;
  /** How many republish hops this message has made (republish loops are bounded). */
  readonly hops: number;
}

/** Why an action failed, in the words of the AWS error-action payload's `failures[]` entry. */
export class ActionFailure extends Error {
  constructor(
    /** e.g. 'RepublishAction', 'LambdaAction', 'DynamoAction', 'DynamoDBv2Action', 'HttpAction'. */
    readonly failedAction: string,
    /** The target (topic, function ARN, table name, URL). */
    readonly failedResource: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ActionFailure';
  }
}

export interface RuleAction {
  /** The action's key in the rule document, e.g. 'republish', 'lambda', 'dynamoDB', 'http'. */
  readonly type: string;
  execute(input: ActionInput): Promise<void>;
  /** Frees workers, sockets, clients. */
  close?(): Promise<void>;
}

/** Outside services an action may need; core provides them. */
export interface ActionDependencies {
  /** Publishes as the server (republish); `hops` travels with the message for loop bounding. */
  publish(message: {
    topic: string;
    payload: Buffer;
    qos: 0 | 1;
    retain?: boolean;
    properties?: {
      contentType?: string;
      correlationData?: Buffer;
      responseTopic?: string;
      userProperties?: ReadonlyArray<readonly [string, string]>;
    };
    hops: number;
  }): Promise<void>;
  /** Configuration of the outside world (local Lambda functions, endpoints). */
  readonly config: ActionsConfig;
  readonly logger: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

export interface ActionsConfig {
  /** functionArn or function name → local JavaScript module path exporting `handler(event, context)`. */
  readonly localFunctions?: Readonly<Record<string, string>>;
  /** Lambda-compatible endpoint for functions not configured locally (AWS itself when absent). */
  readonly lambdaEndpoint?: string;
  readonly dynamoDbEndpoint?: string;
  /** Region and credentials for the AWS SDK clients (defaults: the server's region, env credentials). */
  readonly awsRegion?: string;
  readonly awsCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Local Lambda: per-invocation timeout and worker heap bound. */
  readonly lambdaTimeoutMs?: number;
  readonly lambdaMemoryMb?: number;
}

export interface ActionFactory {
  readonly type: string;
  /**
   * Validates the action's parameters from the rule document (CreateTopicRule time) and compiles
   * its templates; throws InvalidRequestException / SqlParseException with a message naming the
   * field. Returns the runnable action.
   */
  create(params: unknown, deps: ActionDependencies, sqlVersion: string): RuleAction;
}
