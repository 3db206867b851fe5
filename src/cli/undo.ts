/**
 * Undoing what a multi-step command already did when a later step fails, so that nothing is left
 * half-made: each step that changed something pushes the step that reverses it; on failure they run
 * last-first, every one is tried, and the user is told what was undone and what to do by hand.
 */
import type { CliError } from './errors.js';

export interface UndoStep {
  /** What it does: "delete the thing sensor-1". */
  readonly todo: string;
  /** The same in the past tense: "deleted the thing sensor-1". */
  readonly undone: string;
  readonly run: () => Promise<void>;
  /** A command line that does it by hand, shown when running it fails. */
  readonly byHand: string;
}

export interface UndoReport {
  readonly undone: readonly string[];
  /** One line per step that failed: what failed, why, and the command that does it by hand. */
  readonly failed: readonly string[];
}

export async function unwind(steps: readonly UndoStep[], explain: (err: unknown) => CliError): Promise<UndoReport> {
  const undone: string[] = [];
  const failed: string[] = [];
  for (const step of [...steps].reverse()) {
    try {
      await step.run();
      undone.push(step.undone);
    } catch (err: unknown) {
      failed.push(`could not ${step.todo} (${explain(err).message}); do it by hand: ${step.byHand}`);
    }
  }
  return { undone, failed };
}

/** Lines to append to the failure message; empty when there was nothing to undo. */
export function formatUndoReport(report: UndoReport): string {
  const lines: string[] = [];
  if (report.undone.length > 0 || report.failed.length > 0) {
    lines.push(report.failed.length === 0 ? 'Everything it had done was undone:' : 'It could not undo everything:');
  }
  for (const line of report.undone) lines.push(`  - ${line}`);
  for (const line of report.failed) lines.push(`  - ${line}`);
  return lines.join('\n');
}
