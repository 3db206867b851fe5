/** Timestamps on the wire (spec/http-api.md 1.3): JSON numbers, epoch seconds, fraction allowed. */

/** `Date` or epoch milliseconds → epoch seconds (`1700000000.123`). */
export function epochSeconds(time: Date | number): number {
  const ms = typeof time === 'number' ? time : time.getTime();
  return ms / 1000;
}
