/**
 * SqlParseException with a position: every compile-time failure of a rule statement or a
 * substitution template says where (line and column, 1-based) and why, e.g.
 *   "Line 1, column 40: expected an expression after '>' but found the end of the statement"
 * (spec/iot-sql.md section 9: unparseable SQL → SqlParseException, HTTP 400).
 */
import { AwsErrors, type ServiceError } from '../../shared/index.js';

export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export function positionOf(source: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, source.length);
  for (let i = 0; i < end; i++) {
    if (source.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** The SqlParseException for a problem at `offset` of `source`; `label` names the text if not the statement. */
export function sqlError(source: string, offset: number, why: string, label?: string): ServiceError {
  const { line, column } = positionOf(source, offset);
  const where = label === undefined ? `Line ${line}, column ${column}` : `${label}, line ${line}, column ${column}`;
  return AwsErrors.sqlParse(`${where}: ${why}`);
}

/** How a token or source snippet is quoted in messages. */
export function describeText(text: string): string {
  const short = text.length > 40 ? `${text.slice(0, 37)}...` : text;
  return `'${short}'`;
}

/** Closest candidate within edit distance 2 (case-insensitive), for "did you mean" hints. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance && d < Math.max(2, w.length - 1)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 3;
}
