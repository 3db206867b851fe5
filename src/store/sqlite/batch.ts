/**
 * One transaction per `apply(ops)` for the checked stores (registry, certificates, policies,
 * rules): ops run in order inside BEGIN IMMEDIATE; a check op that does not hold throws
 * ConditionNotMet and the batch fails with StoreError 'ConditionFailed', any other failure with
 * 'ApplyFailed'; either way nothing of the batch is written. Both name the op and its index.
 */
import type { SqliteDatabase } from './migrations.js';
import { StoreError } from '../errors.js';

/** Thrown by a check op (e.g. "the thing's version is 3") that does not hold. */
export class ConditionNotMet extends Error {}

export function batchTransaction<Op>(
  db: SqliteDatabase,
  applyOne: (op: Op) => void,
  describeOp: (op: Op) => string,
): (ops: readonly Op[]) => void {
  return db.transaction((ops: readonly Op[]) => {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Op;
      try {
        applyOne(op);
      } catch (err: unknown) {
        if (err instanceof ConditionNotMet) {
          throw new StoreError(
            'ConditionFailed',
            `apply: condition op ${i} of ${ops.length} (${describeOp(op)}) does not hold: ${err.message}; batch rolled back`,
            { opIndex: i },
          );
        }
        throw new StoreError(
          'ApplyFailed',
          `apply: op ${i} of ${ops.length} (${describeOp(op)}) failed, batch rolled back: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err, opIndex: i },
        );
      }
    }
  }).immediate;
}
