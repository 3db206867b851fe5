/**
 * What the admin commands print: aligned tables and "label  value" blocks for people, JSON for
 * programs (--json; the AWS response shapes, dates as ISO-8601 strings). Notices go to stderr so
 * stdout stays machine-readable.
 */

/** Where a command writes; main.ts passes the process streams, tests capture the text. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Columns separated by two spaces, each as wide as its widest cell; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/**
 * One `label  value` line per field, labels aligned; a value's further lines are indented under its
 * first. Fields whose value is undefined are left out.
 */
export function formatFields(fields: ReadonlyArray<readonly [string, string | undefined]>): string {
  const shown = fields.filter((field): field is readonly [string, string] => field[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  const indent = '\n' + ' '.repeat(width + 2);
  return shown.map(([label, value]) => `${label.padEnd(width)}  ${value.split('\n').join(indent)}`.trimEnd()).join('\n') + '\n';
}

/** `2026-11-26 08:22:01Z` (UTC, to the second); `-` when absent. */
export function formatDate(date: Date | undefined): string {
  if (date === undefined || Number.isNaN(date.getTime())) return '-';
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** `k=v, k2=v2`, sorted by key; `-` when empty. */
export function formatAttributes(attributes: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
