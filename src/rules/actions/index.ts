/**
 * The action registry: every ActionFactory the engine serves, one line each (see action.ts for the
 * contract). A rule naming a type not listed here is refused at CreateTopicRule.
 *
 * A function rather than a constant: the action modules import ../index.ts, which re-exports this
 * file, so a top-level list could read a factory binding before its module has run.
 */
import type { ActionFactory } from './action.js';
import { republishAction } from './republish.js';
import { lambdaActionFactory } from './lambda.js';
import { dynamoDbActionFactory } from './dynamodb.js';
import { dynamoDbV2ActionFactory } from './dynamodbv2.js';
import { httpActionFactory } from './http.js';

export function actionFactories(): readonly ActionFactory[] {
  return [
    republishAction,
    lambdaActionFactory,
    dynamoDbActionFactory,
    dynamoDbV2ActionFactory,
    httpActionFactory,
  ];
}

/** The optional fourth argument of ActionFactory.create: false for an errorAction (spec section 8). */
export interface ActionCreateOptions {
  readonly allowExternalFunctions?: boolean;
}

export * from './action.js';
export { republishAction, topicProblem, type RepublishMessage } from './republish.js';
export { createLambdaInvoker, type LambdaInvoker } from './lambda.js';
