/**
 * parse_time and time_to_epoch (spec/iot-sql.md section 7, "Time", both 2016-03-23).
 *
 *   parse_time(pattern, epochMillis[, timeZone = "UTC"])  formats an instant with a Joda-Time
 *       pattern: parse_time("yyyy.MM.dd G 'at' HH:mm:ss z", 100000000, 'America/Belize')
 *       = "1970.01.01 AD at 21:46:40 CST".
 *   time_to_epoch(text, pattern)  parses with a JDK DateTimeFormatter pattern, UTC unless the text
 *       names a zone: time_to_epoch("2020-04-03 09:45:18 UTC+01:00", "yyyy-MM-dd HH:mm:ss VV")
 *       = 1585903518000.
 *
 * Zones: IANA names through Intl (the tz database Node carries), fixed offsets (`+01:00`,
 * `UTC+01:00`, `GMT-5`), and for parsing the common abbreviations (PST, CET ...). Java prints
 * zone abbreviations from its own tables; Intl's English names agree for the zones that have
 * abbreviations. A pattern letter that is not supported, text that does not match, or an
 * unknown zone gives Undefined.
 */
import { toDecimal, toStr, type SqlValue } from '../sql/values.js';
import { def, V2016, type FunctionDef } from './function.js';

// ---------------------------------------------------------------------------------------------
// Zones

interface Zone {
  readonly id: string;
  /** Offset from UTC in ms at the instant. */
  offsetAt(epochMs: number): number;
  shortName(epochMs: number): string;
  longName(epochMs: number): string;
}

const DAY_MS = 86_400_000;

function offsetText(offsetMs: number, colon: boolean): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const total = Math.abs(Math.round(offsetMs / 60_000));
  const hh = String(Math.floor(total / 60)).padStart(2, '0');
  const mm = String(total % 60).padStart(2, '0');
  return colon ? `${sign}${hh}:${mm}` : `${sign}${hh}${mm}`;
}

function fixedZone(id: string, offsetMs: number): Zone {
  return {
    id,
    offsetAt: () => offsetMs,
    shortName: () => id,
    longName: () => id,
  };
}

const intlCache = new Map<string, Zone | null>();

function intlZone(id: string): Zone | undefined {
  const hit = intlCache.get(id);
  if (hit !== undefined) return hit ?? undefined;
  let zone: Zone | null = null;
  try {
    const fields = new Intl.DateTimeFormat('en-US', {
      timeZone: id,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    const names = new Map<string, Intl.DateTimeFormat>();
    const nameFormat = (locale: string, style: 'short' | 'long'): Intl.DateTimeFormat => {
      const key = `${locale}/${style}`;
      let f = names.get(key);
      if (f === undefined) {
        f = new Intl.DateTimeFormat(locale, { timeZone: id, timeZoneName: style });
        names.set(key, f);
      }
      return f;
    };
    const zoneName = (locale: string, style: 'short' | 'long', t: number): string =>
      nameFormat(locale, style).formatToParts(new Date(t)).find((p) => p.type === 'timeZoneName')?.value ?? id;
    const canonical = fields.resolvedOptions().timeZone;
    zone = {
      id: canonical,
      offsetAt(t) {
        const whole = Math.floor(t / 1000) * 1000;
        const p: Record<string, number> = {};
        for (const part of fields.formatToParts(new Date(whole))) {
          if (part.type !== 'literal') p[part.type] = Number(part.value);
        }
        const local = utcMs(p['year'] ?? 1970, p['month'] ?? 1, p['day'] ?? 1, p['hour'] ?? 0, p['minute'] ?? 0, p['second'] ?? 0, 0);
        return local - whole;
      },
      shortName(t) {
        const us = zoneName('en-US', 'short', t);
        if (!/^GMT[+-]/.test(us)) return us;
        const gb = zoneName('en-GB', 'short', t);
        return /^[A-Z]{2,5}$/.test(gb) ? gb : us;
      },
      longName(t) {
        return zoneName('en-US', 'long', t);
      },
    };
  } catch {
    zone = null;
  }
  intlCache.set(id, zone);
  return zone ?? undefined;
}

const FIXED = /^(?:(UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?|(UTC|GMT|UT|Z))$/;

export function resolveZone(id: string): Zone | undefined {
  const m = FIXED.exec(id);
  if (m !== null) {
    if (m[6] !== undefined) return fixedZone(m[6] === 'Z' ? 'UTC' : m[6], 0);
    const hours = Number(m[3]);
    const minutes = Number(m[4] ?? 0);
    const seconds = Number(m[5] ?? 0);
    if (hours > 18 || minutes > 59 || seconds > 59) return undefined;
    const offset = (m[2] === '-' ? -1 : 1) * ((hours * 60 + minutes) * 60 + seconds) * 1000;
    return fixedZone(id, offset);
  }
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(id)) return undefined;
  return intlZone(id);
}

/** Zone abbreviations accepted when parsing (`z`), mapped as Java's default zone-name table does. */
const ABBREVIATIONS: Readonly<Record<string, string>> = {
  PST: 'America/Los_Angeles',
  PDT: 'America/Los_Angeles',
  MST: 'America/Denver',
  MDT: 'America/Denver',
  CST: 'America/Chicago',
  CDT: 'America/Chicago',
  EST: 'America/New_York',
  EDT: 'America/New_York',
  AKST: 'America/Anchorage',
  AKDT: 'America/Anchorage',
  HST: 'Pacific/Honolulu',
  BST: 'Europe/London',
  CET: 'Europe/Paris',
  CEST: 'Europe/Paris',
  EET: 'Europe/Athens',
  EEST: 'Europe/Athens',
  WET: 'Europe/Lisbon',
  WEST: 'Europe/Lisbon',
  IST: 'Asia/Kolkata',
  JST: 'Asia/Tokyo',
  KST: 'Asia/Seoul',
  AEST: 'Australia/Sydney',
  AEDT: 'Australia/Sydney',
};

function zoneForParsing(text: string): Zone | undefined {
  const alias = ABBREVIATIONS[text.toUpperCase()];
  return resolveZone(alias ?? text);
}

/** Date.UTC that also handles years 0..99 (Date.UTC maps them to 19xx). */
function utcMs(y: number, month: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const date = new Date(Date.UTC(2000, 0, 1, h, mi, s, ms));
  date.setUTCFullYear(y, month - 1, d);
  return date.getTime();
}

// ---------------------------------------------------------------------------------------------
// Patterns

type PatternToken = { readonly letter: string; readonly count: number } | { readonly text: string } | { readonly optional: 'open' | 'close' };

function tokenize(pattern: string, allowOptional: boolean): PatternToken[] | undefined {
  const out: PatternToken[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] ?? '';
    if (c === "'") {
      if (pattern[i + 1] === "'") {
        out.push({ text: "'" });
        i += 2;
        continue;
      }
      let text = '';
      i++;
      for (;;) {
        if (i >= pattern.length) return undefined; // unterminated quote
        if (pattern[i] === "'") {
          if (pattern[i + 1] === "'") {
            text += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += pattern[i] ?? '';
        i++;
      }
      out.push({ text });
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      out.push({ letter: c, count: j - i });
      i = j;
    } else if (allowOptional && (c === '[' || c === ']')) {
      out.push({ optional: c === '[' ? 'open' : 'close' });
      i++;
    } else {
      out.push({ text: c });
      i++;
    }
  }
  return out;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

function pad(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width, '0');
  return n < 0 ? `-${s}` : s;
}

interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly ms: number;
  /** 1 = Monday ... 7 = Sunday. */
  readonly weekday: number;
  readonly dayOfYear: number;
}

function localTime(epochMs: number, offsetMs: number): LocalTime {
  const d = new Date(epochMs + offsetMs);
  const year = d.getUTCFullYear();
  const startOfYear = utcMs(year, 1, 1, 0, 0, 0, 0);
  return {
    year,
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    ms: d.getUTCMilliseconds(),
    weekday: ((d.getUTCDay() + 6) % 7) + 1,
    dayOfYear: Math.floor((epochMs + offsetMs - startOfYear) / DAY_MS) + 1,
  };
}

function isoWeek(t: LocalTime): { weekYear: number; week: number } {
  const date = utcMs(t.year, t.month, t.day, 0, 0, 0, 0);
  const thursday = date + (4 - t.weekday) * DAY_MS;
  const weekYear = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - utcMs(weekYear, 1, 1, 0, 0, 0, 0)) / (7 * DAY_MS));
  return { weekYear, week };
}

/** Format with a Joda-Time pattern; undefined for an unsupported letter. */
export function formatJoda(pattern: string, epochMs: number, zone: Zone): string | undefined {
  const tokens = tokenize(pattern, false);
  if (tokens === undefined) return undefined;
  const offset = zone.offsetAt(epochMs);
  const t = localTime(epochMs, offset);
  let out = '';
  for (const tok of tokens) {
    if ('text' in tok) {
      out += tok.text;
      continue;
    }
    if (!('letter' in tok)) return undefined;
    const n = tok.count;
    const yearOfEra = t.year > 0 ? t.year : 1 - t.year;
    switch (tok.letter) {
      case 'G':
        out += t.year > 0 ? 'AD' : 'BC';
        break;
      case 'C':
        out += pad(Math.floor(yearOfEra / 100), n);
        break;
      case 'Y':
        out += n === 2 ? pad(yearOfEra % 100, 2) : pad(yearOfEra, n);
        break;
      case 'y':
        out += n === 2 ? pad(((t.year % 100) + 100) % 100, 2) : pad(t.year, n);
        break;
      case 'x': {
        const wy = isoWeek(t).weekYear;
        out += n === 2 ? pad(wy % 100, 2) : pad(wy, n);
        break;
      }
      case 'w':
        out += pad(isoWeek(t).week, n);
        break;
      case 'e':
        out += pad(t.weekday, n);
        break;
      case 'E': {
        const name = WEEKDAYS[t.weekday - 1] ?? '';
        out += n >= 4 ? name : name.slice(0, 3);
        break;
      }
      case 'D':
        out += pad(t.dayOfYear, n);
        break;
      case 'M': {
        const name = MONTHS[t.month - 1] ?? '';
        out += n >= 4 ? name : n === 3 ? name.slice(0, 3) : pad(t.month, n);
        break;
      }
      case 'd':
        out += pad(t.day, n);
        break;
      case 'a':
        out += t.hour < 12 ? 'AM' : 'PM';
        break;
      case 'K':
        out += pad(t.hour % 12, n);
        break;
      case 'h':
        out += pad(t.hour % 12 === 0 ? 12 : t.hour % 12, n);
        break;
      case 'H':
        out += pad(t.hour, n);
        break;
      case 'k':
        out += pad(t.hour === 0 ? 24 : t.hour, n);
        break;
      case 'm':
        out += pad(t.minute, n);
        break;
      case 's':
        out += pad(t.second, n);
        break;
      case 'S':
        out += String(t.ms).padStart(3, '0').padEnd(n, '0').slice(0, n);
        break;
      case 'z':
        out += n >= 4 ? zone.longName(epochMs) : zone.shortName(epochMs);
        break;
      case 'Z':
        out += n === 1 ? offsetText(offset, false) : n === 2 ? offsetText(offset, true) : zone.id;
        break;
      default:
        return undefined;
    }
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

type Field = 'year' | 'year2' | 'month' | 'monthName' | 'day' | 'dayOfYear' | 'hour' | 'clockHour' | 'hour12' | 'clockHour12' | 'ampm' | 'minute' | 'second' | 'fraction' | 'nanos' | 'zone' | 'offset' | 'era' | 'ignored';

function digits(n: number, max = 2): string {
  return n === 1 ? `(\\d{1,${max}})` : `(\\d{${n}})`;
}

/** A JDK DateTimeFormatter pattern as an anchored RegExp plus the field of each group. */
function compileJdkPattern(pattern: string): { re: RegExp; fields: Field[] } | undefined {
  const tokens = tokenize(pattern, true);
  if (tokens === undefined) return undefined;
  const fields: Field[] = [];
  let src = '';
  let depth = 0;
  for (const tok of tokens) {
    if ('text' in tok) {
      src += escapeRegExp(tok.text);
      continue;
    }
    if ('optional' in tok) {
      if (tok.optional === 'open') {
        src += '(?:';
        depth++;
      } else {
        if (depth === 0) return undefined;
        src += ')?';
        depth--;
      }
      continue;
    }
    const n = tok.count;
    switch (tok.letter) {
      case 'y':
      case 'u':
        if (n === 2) {
          src += '(\\d{2})';
          fields.push('year2');
        } else {
          src += n >= 4 ? `([+-]?\\d{${n},9})` : '([+-]?\\d{1,9})';
          fields.push('year');
        }
        break;
      case 'M':
      case 'L':
        if (n >= 3) {
          src += '([A-Za-z]+\\.?)';
          fields.push('monthName');
        } else {
          src += digits(n);
          fields.push('month');
        }
        break;
      case 'd':
        src += digits(n);
        fields.push('day');
        break;
      case 'D':
        src += n === 1 ? '(\\d{1,3})' : n === 2 ? '(\\d{2,3})' : '(\\d{3})';
        fields.push('dayOfYear');
        break;
      case 'H':
        src += digits(n);
        fields.push('hour');
        break;
      case 'k':
        src += digits(n);
        fields.push('clockHour');
        break;
      case 'K':
        src += digits(n);
        fields.push('hour12');
        break;
      case 'h':
        src += digits(n);
        fields.push('clockHour12');
        break;
      case 'a':
        src += '(AM|PM|am|pm)';
        fields.push('ampm');
        break;
      case 'm':
        src += digits(n);
        fields.push('minute');
        break;
      case 's':
        src += digits(n);
        fields.push('second');
        break;
      case 'S':
        src += `(\\d{${n}})`;
        fields.push('fraction');
        break;
      case 'n':
        src += '(\\d{1,9})';
        fields.push('nanos');
        break;
      case 'E':
        src += '([A-Za-z]+)';
        fields.push('ignored');
        break;
      case 'G':
        src += '(AD|BC|Anno Domini|Before Christ)';
        fields.push('era');
        break;
      case 'z':
      case 'V':
        src += '([A-Za-z][A-Za-z0-9_+\\-/:]*|[+-]\\d{2}:?\\d{2})';
        fields.push('zone');
        break;
      case 'O':
        src += '(GMT(?:[+-]\\d{1,2}(?::\\d{2})?)?)';
        fields.push('zone');
        break;
      case 'X':
        src += n === 1 ? '(Z|[+-]\\d{2}(?:\\d{2})?)' : n === 2 || n === 4 ? '(Z|[+-]\\d{4})' : '(Z|[+-]\\d{2}:\\d{2})';
        fields.push('offset');
        break;
      case 'x':
        src += n === 1 ? '([+-]\\d{2}(?:\\d{2})?)' : n === 2 || n === 4 ? '([+-]\\d{4})' : '([+-]\\d{2}:\\d{2})';
        fields.push('offset');
        break;
      case 'Z':
        src += n <= 3 ? '([+-]\\d{4})' : n === 4 ? '(GMT(?:[+-]\\d{2}:\\d{2})?)' : '(Z|[+-]\\d{2}:\\d{2})';
        fields.push(n === 4 ? 'zone' : 'offset');
        break;
      default:
        return undefined;
    }
  }
  if (depth !== 0) return undefined;
  return { re: new RegExp(`^${src}$`, 'i'), fields };
}

const jdkCache = new Map<string, { re: RegExp; fields: Field[] } | null>();

/** Parse text with a JDK pattern into epoch ms; undefined when it does not match or resolve. */
export function parseJdk(text: string, pattern: string): number | undefined {
  let compiled = jdkCache.get(pattern);
  if (compiled === undefined) {
    compiled = compileJdkPattern(pattern) ?? null;
    if (jdkCache.size < 256) jdkCache.set(pattern, compiled);
  }
  if (compiled === null) return undefined;
  const m = compiled.re.exec(text);
  if (m === null) return undefined;
  let year: number | undefined;
  let month: number | undefined;
  let day: number | undefined;
  let dayOfYear: number | undefined;
  let hour = 0;
  let hour12: number | undefined;
  let pm: boolean | undefined;
  let minute = 0;
  let second = 0;
  let ms = 0;
  let bc = false;
  let zone: Zone | undefined = resolveZone('UTC');
  for (let i = 0; i < compiled.fields.length; i++) {
    const v = m[i + 1];
    if (v === undefined) continue; // an optional section that did not match
    switch (compiled.fields[i]) {
      case 'year':
        year = Number(v);
        break;
      case 'year2':
        year = 2000 + Number(v);
        break;
      case 'month':
        month = Number(v);
        break;
      case 'monthName': {
        const name = v.replace(/\.$/, '').toLowerCase();
        const idx = MONTHS.findIndex((mn) => mn.toLowerCase() === name || mn.slice(0, 3).toLowerCase() === name);
        if (idx < 0) return undefined;
        month = idx + 1;
        break;
      }
      case 'day':
        day = Number(v);
        break;
      case 'dayOfYear':
        dayOfYear = Number(v);
        break;
      case 'hour':
        hour = Number(v);
        break;
      case 'clockHour':
        hour = Number(v) % 24;
        break;
      case 'hour12':
        hour12 = Number(v) % 12;
        break;
      case 'clockHour12':
        if (Number(v) < 1 || Number(v) > 12) return undefined;
        hour12 = Number(v) % 12;
        break;
      case 'ampm':
        pm = v.toUpperCase() === 'PM';
        break;
      case 'minute':
        minute = Number(v);
        break;
      case 'second':
        second = Number(v);
        break;
      case 'fraction':
        ms = Math.floor(Number(`0.${v}`) * 1000 + 1e-6);
        break;
      case 'nanos':
        ms = Math.floor(Number(v) / 1e6);
        break;
      case 'era':
        bc = v.toUpperCase().startsWith('B');
        break;
      case 'zone':
        zone = zoneForParsing(v);
        if (zone === undefined) return undefined;
        break;
      case 'offset':
        zone = resolveZone(v.toUpperCase() === 'Z' ? 'Z' : v);
        if (zone === undefined) return undefined;
        break;
      case 'ignored':
      case undefined:
        break;
    }
  }
  if (year === undefined || zone === undefined) return undefined;
  if (bc) year = 1 - year;
  if (hour12 !== undefined) {
    if (pm === undefined) return undefined; // JDK cannot resolve a 12-hour clock without AM/PM
    hour = hour12 + (pm ? 12 : 0);
  } else if (pm !== undefined && hour < 12 && pm) {
    hour += 12;
  }
  if (month === undefined || day === undefined) {
    if (dayOfYear === undefined || month !== undefined || day !== undefined) return undefined;
    const start = utcMs(year, 1, 1, 0, 0, 0, 0);
    const d = new Date(start + (dayOfYear - 1) * DAY_MS);
    if (d.getUTCFullYear() !== year) return undefined;
    month = d.getUTCMonth() + 1;
    day = d.getUTCDate();
  }
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const local = utcMs(year, month, day, hour, minute, second, ms);
  if (new Date(local).getUTCDate() !== day) return undefined; // 31 April and the like
  let epoch = local - zone.offsetAt(local);
  const corrected = local - zone.offsetAt(epoch);
  if (corrected !== epoch) epoch = corrected;
  return epoch;
}

export const TIME_FUNCTIONS: readonly FunctionDef[] = [
  def(
    'parse_time(pattern, epochMillis[, timeZone])',
    2,
    3,
    (args) => {
      const pattern = toStr(args[0]);
      const millis = toDecimal(args[1]);
      const zoneId = args.length > 2 ? toStr(args[2]) : 'UTC';
      if (pattern === undefined || millis === undefined || zoneId === undefined) return undefined;
      const zone = resolveZone(zoneId);
      const t = Math.trunc(Number(millis));
      if (zone === undefined || !Number.isFinite(t) || Math.abs(t) > 8.64e15) return undefined;
      return formatJoda(pattern, t, zone);
    },
    { since: V2016 },
  ),
  def(
    'time_to_epoch(text, pattern)',
    2,
    2,
    (args): SqlValue => {
      const text = toStr(args[0]);
      const pattern = toStr(args[1]);
      if (text === undefined || pattern === undefined) return undefined;
      return parseJdk(text, pattern);
    },
    { since: V2016 },
  ),
];
