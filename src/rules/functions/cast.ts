/**
 * cast(value AS Type) (spec/iot-sql.md section 7):
 *
 *   String Nvarchar Text Ntext Varchar   standard String conversion
 *   Int Integer                          Decimal rounded down (toward zero), numeric string parsed
 *                                        then truncated, true/false → 1/0
 *   Double, Decimal (2016)               a Decimal (2015-10-08 keeps `5.0`, 2016-03-23 prints `5`)
 *   Bool Boolean (2016)                  0 → false, other numbers → true, "true"/"false" strings
 *
 * Casting Null, or to an unknown type (Decimal/Bool/Boolean under 2015-10-08 included), is
 * Undefined.
 */
import {
  decimal,
  isModern,
  toBool,
  toDecimal,
  toStr,
  truncZero,
  WholeDecimal,
  type SqlValue,
  type SqlVersion,
} from '../sql/values.js';

export type CastType = 'string' | 'int' | 'decimal' | 'bool' | 'unknown';

/** Resolve the type name once at compile time. */
export function castTypeOf(name: string, version: SqlVersion): CastType {
  switch (name.toLowerCase()) {
    case 'string':
    case 'nvarchar':
    case 'text':
    case 'ntext':
    case 'varchar':
      return 'string';
    case 'int':
    case 'integer':
      return 'int';
    case 'double':
      return 'decimal';
    case 'decimal':
      return isModern(version) ? 'decimal' : 'unknown';
    case 'bool':
    case 'boolean':
      return isModern(version) ? 'bool' : 'unknown';
    default:
      return 'unknown';
  }
}

export function castTo(v: SqlValue, type: CastType, keepWhole: boolean): SqlValue {
  if (v === null || v === undefined) return undefined;
  switch (type) {
    case 'string':
      return toStr(v);
    case 'int': {
      if (typeof v === 'boolean') return v ? 1 : 0;
      const d = toDecimal(v);
      if (d === undefined) return undefined;
      return typeof d === 'bigint' ? d : Number.isFinite(d) ? truncZero(d) : undefined;
    }
    case 'decimal': {
      if (typeof v === 'boolean') return decimal(v ? 1 : 0, keepWhole);
      if (v instanceof WholeDecimal) return v;
      const d = toDecimal(v);
      if (d === undefined) return undefined;
      return decimal(Number(d), keepWhole);
    }
    case 'bool': {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string') return toBool(v);
      const d = toDecimal(v);
      if (d === undefined) return undefined;
      return typeof d === 'bigint' ? d !== 0n : d !== 0;
    }
    case 'unknown':
      return undefined;
  }
}
