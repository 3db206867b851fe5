/**
 * shared/: the few small pieces every AWS room uses (service errors, ARNs). No state, no I/O.
 */
export * from './aws-errors.js';
export * from './arn.js';
export * from './page-token.js';
export * from './keyed-queue.js';
