/**
 * Rule engine metrics: counters per rule and per action (plain fields, bumped on the hot path), the
 * snapshots the metrics route returns, a rate-limited failure log and a periodic summary log.
 *
 * Per rule: `evaluated` (messages that reached the rule: FROM matched or Basic Ingest), `matched`
 * (the SQL matched: WHERE true), `evaluationErrors` (a hook such as get_thing_shadow or aws_lambda
 * failed, or an external call timed out), `droppedHops` (republish loop bound), and the sums of its
 * actions' counters. Per action (and for the error action): `executed`, `succeeded`, `failed`
 * (`timedOut` and `throttled` are part of `failed`), the last error and when it happened.
 * Counters start when the rule is created or replaced (`since`), and survive enable/disable.
 */

/** Mutable counters of one action (or error action) of one rule. */
export class ActionCounters {
  executed = 0;
  succeeded = 0;
  failed = 0;
  timedOut = 0;
  throttled = 0;
  lastError: string | undefined = undefined;
  lastErrorAtMs: number | undefined = undefined;

  constructor(readonly type: string) {}

  fail(message: string, atMs: number): void {
    this.failed++;
    this.lastError = message;
    this.lastErrorAtMs = atMs;
  }
}

/** Mutable counters of one rule. */
export class RuleCounters {
  evaluated = 0;
  matched = 0;
  evaluationErrors = 0;
  droppedHops = 0;
  lastError: string | undefined = undefined;
  lastErrorAtMs: number | undefined = undefined;
  readonly actions: readonly ActionCounters[];
  readonly errorAction: ActionCounters | undefined;

  constructor(
    readonly ruleName: string,
    actionTypes: readonly string[],
    errorActionType: string | undefined,
    readonly sinceMs: number,
  ) {
    this.actions = actionTypes.map((t) => new ActionCounters(t));
    this.errorAction = errorActionType === undefined ? undefined : new ActionCounters(errorActionType);
  }

  noteError(message: string, atMs: number): void {
    this.lastError = message;
    this.lastErrorAtMs = atMs;
  }

  snapshot(enabled: boolean): RuleMetricsSnapshot {
    let executed = 0;
    let succeeded = 0;
    let failed = 0;
    for (const a of this.actions) {
      executed += a.executed;
      succeeded += a.succeeded;
      failed += a.failed;
    }
    return {
      ruleName: this.ruleName,
      enabled,
      since: this.sinceMs / 1000,
      evaluated: this.evaluated,
      matched: this.matched,
      evaluationErrors: this.evaluationErrors,
      droppedHops: this.droppedHops,
      executed,
      succeeded,
      failed,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError, lastErrorAt: (this.lastErrorAtMs ?? 0) / 1000 }),
      actions: this.actions.map((a, index) => actionSnapshot(a, index)),
      ...(this.errorAction === undefined ? {} : { errorAction: actionSnapshot(this.errorAction, undefined) }),
    };
  }

  /** A number that changes whenever a counter does (for the summary log). */
  activity(): number {
    let n = this.evaluated + this.evaluationErrors + this.droppedHops;
    for (const a of this.actions) n += a.executed + a.succeeded + a.failed;
    if (this.errorAction !== undefined) n += this.errorAction.executed + this.errorAction.succeeded + this.errorAction.failed;
    return n;
  }
}

function actionSnapshot(a: ActionCounters, index: number | undefined): ActionMetricsSnapshot {
  return {
    ...(index === undefined ? {} : { index }),
    type: a.type,
    executed: a.executed,
    succeeded: a.succeeded,
    failed: a.failed,
    timedOut: a.timedOut,
    throttled: a.throttled,
    ...(a.lastError === undefined ? {} : { lastError: a.lastError, lastErrorAt: (a.lastErrorAtMs ?? 0) / 1000 }),
  };
}

/** One action's counters as `GET /rules/{ruleName}/metrics` shows them. Times are epoch seconds. */
export interface ActionMetricsSnapshot {
  /** Position in the rule's `actions` (absent for the error action). */
  readonly index?: number;
  readonly type: string;
  readonly executed: number;
  readonly succeeded: number;
  /** Includes timedOut and throttled. */
  readonly failed: number;
  readonly timedOut: number;
  /** Not started: too many actions were already in progress. */
  readonly throttled: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
}

/** `GET /rules/{ruleName}/metrics`. Times are epoch seconds. */
export interface RuleMetricsSnapshot {
  readonly ruleName: string;
  readonly enabled: boolean;
  /** When the counters started (rule created, replaced or loaded at startup). */
  readonly since: number;
  readonly evaluated: number;
  readonly matched: number;
  readonly evaluationErrors: number;
  readonly droppedHops: number;
  /** Sums over `actions` (the error action not included). */
  readonly executed: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  readonly actions: readonly ActionMetricsSnapshot[];
  readonly errorAction?: ActionMetricsSnapshot;
}

/** `GET /rule-engine/metrics`: the engine as a whole. */
export interface EngineMetricsSnapshot {
  readonly rules: number;
  readonly enabledRules: number;
  /** Distinct FROM filters of enabled rules. */
  readonly topicFilters: number;
  /** Messages the engine looked at (after the broker's filter match). */
  readonly messages: number;
  /** Basic Ingest messages for a rule that does not exist or is disabled (AWS's RuleNotFound). */
  readonly ruleNotFound: number;
  /** Messages dropped because they had been republished too many times in a row. */
  readonly droppedHops: number;
  /** Actions not started because too many were in progress. */
  readonly throttled: number;
  /** Actions and external evaluations in progress now. */
  readonly inFlight: number;
}

export interface MetricsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Logs at most one line per key and interval; the next line says how many were suppressed. Keeps
 * a failing rule on a busy topic from flooding the log.
 */
export class RateLimitedLog {
  readonly #last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly logger: MetricsLogger,
    private readonly intervalMs = 10_000,
  ) {}

  log(level: 'warn' | 'error', key: string, obj: Record<string, unknown>, msg: string, nowMs: number = Date.now()): void {
    const entry = this.#last.get(key);
    if (entry !== undefined && nowMs - entry.atMs < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    if (this.#last.size > 10_000) this.#last.clear();
    const suppressed = entry?.suppressed ?? 0;
    this.#last.set(key, { atMs: nowMs, suppressed: 0 });
    this.logger[level](suppressed > 0 ? { ...obj, suppressed } : obj, msg);
  }
}
