/**
 * Compiles the syntax tree into JavaScript closures: each node becomes a function of the current
 * Scope, built once per rule, so evaluating a message is a walk over pre-bound closures with no
 * tree interpretation, no lookups by name and no allocation beyond the values produced.
 *
 *   WHERE temperature > 50 AND color <> 'red'
 *     and( gtConst(path('temperature'), 50), ne(path('color'), 'red') )
 *
 * Sync and async: a node is compiled synchronously unless its subtree calls an external function
 * (aws_lambda, get_thing_shadow); only the nodes on the way from such a call to the root become
 * async closures. A rule without external calls therefore evaluates with no Promise at all.
 *
 * Folding: operators and pure functions whose arguments are all constants are evaluated here,
 * once (`power(2, 10)`, `-5`, `upper('x')`), which also means a constant regular expression is
 * compiled before the first message.
 *
 * Tracing: compiled with `trace`, every node of the top-level WHERE records its value in the
 * Run's trace map for the dry run's explanation. That variant is compiled only when an
 * explanation is first asked for; the normal closures carry no trace check at all.
 *
 * Compile-time errors (SqlParseException with position): unknown function (with a suggestion),
 * wrong arity, a function newer than the rule's SQL version, an undefined @variable, external
 * functions where they are not allowed (error actions), nesting deeper than MAX_DEPTH.
 */
import type { Assignment, BinaryExpr, CallExpr, Expr, Query, SelectClause, Statement } from './ast.js';
import { closest, sqlError } from './errors.js';
import { castTo, castTypeOf, FUNCTION_NAMES, FUNCTIONS, getElement, type FunctionDef } from '../functions/index.js';
import * as ops from './operators.js';
import { Message, Run, Scope, scopeOf } from './runtime.js';
import {
  Bytes,
  getOwn,
  isModern,
  isObject,
  isPrototypeKey,
  objectSerializer,
  setOwn,
  toBool,
  type SqlObject,
  type SqlValue,
  type SqlVersion,
} from './values.js';

export type SyncFn = (s: Scope) => SqlValue;
export type AsyncFn = (s: Scope) => Promise<SqlValue>;

export type Compiled =
  | { readonly async: false; readonly fn: SyncFn; readonly constant: boolean }
  | { readonly async: true; readonly fn: AsyncFn };

/** A SELECT list; `serializer` when its output is always an object with keys known now. */
export type Projection = Compiled & { readonly serializer?: (o: SqlObject) => string };

/** Deepest expression tree accepted (long `a + b + c + ...` chains are deep on one side). */
const MAX_DEPTH = 400;

export interface CompileOptions {
  readonly version: SqlVersion;
  /** The source the node offsets refer to, and its name in messages when not the statement. */
  readonly source: string;
  readonly label?: string;
  /** Variables a statement defines with SET; undefined: look them up at run time (templates). */
  readonly variables: ReadonlySet<string> | undefined;
  /** False for error-action templates: no external (billed) functions. */
  readonly allowExternal: boolean;
}

const EMPTY: readonly SqlValue[] = [];

function sync(fn: SyncFn, constant = false): Compiled {
  return { async: false, fn, constant };
}

function asyncFn(fn: AsyncFn): Compiled {
  return { async: true, fn };
}

function constant(v: SqlValue): Compiled {
  return sync(() => v, true);
}

/** Evaluate a constant node now (its closure ignores the scope). */
function valueOf(c: Compiled): SqlValue {
  return (c.fn as SyncFn)(FOLD_SCOPE_2016);
}

const FOLD_MESSAGE = new Message('', Buffer.alloc(0), { timestamp: 0 });
const FOLD_SCOPE_2016 = new Scope(undefined, undefined, new Run(FOLD_MESSAGE, '2016-03-23', false, undefined));

export class Compiler {
  private readonly keepWhole: boolean;
  private readonly foldScope: Scope;
  /** Compile-time notes that are not errors (an item without alias produces no key ...). */
  readonly warnings: string[] = [];

  constructor(private readonly options: CompileOptions) {
    this.keepWhole = !isModern(options.version);
    this.foldScope = new Scope(undefined, undefined, new Run(FOLD_MESSAGE, options.version, this.keepWhole, undefined));
  }

  private fail(at: number, why: string): never {
    throw sqlError(this.options.source, at, why, this.options.label);
  }

  private fold(c: Compiled): Compiled {
    return c.async ? c : constant(c.fn(this.foldScope));
  }

  /**
   * @param nested  inside a nested query (`*` is then the current item, not the payload)
   * @param trace   record every node's value in run.trace (explain mode)
   */
  expr(e: Expr, nested: boolean, trace: boolean, depth = 0): Compiled {
    if (depth > MAX_DEPTH) this.fail(e.start, `the expression is nested more than ${MAX_DEPTH} levels deep`);
    const c = this.node(e, nested, trace, depth + 1);
    if (!trace || (!c.async && c.constant && e.kind === 'literal')) return c;
    if (c.async) {
      const f = c.fn;
      return asyncFn(async (s) => {
        const v = await f(s);
        s.run.trace?.set(e, v);
        return v;
      });
    }
    const f = c.fn;
    return sync((s) => {
      const v = f(s);
      s.run.trace?.set(e, v);
      return v;
    });
  }

  private node(e: Expr, nested: boolean, trace: boolean, depth: number): Compiled {
    const sub = (x: Expr): Compiled => this.expr(x, nested, trace, depth);
    switch (e.kind) {
      case 'literal':
        return constant(e.value);
      case 'ident':
      case 'member': {
        const path = pathOf(e);
        if (path !== undefined) return sync(compilePath(path));
        if (e.kind === 'ident') return sync(compilePath([e.name]));
        return this.member(sub(e.object), e.name);
      }
      case 'star':
        return sync((s) => s.root);
      case 'var': {
        const vars = this.options.variables;
        if (vars !== undefined && !vars.has(e.name)) {
          this.fail(e.start, `the variable @${e.name} is not defined; define it with SET @${e.name} = ... before SELECT`);
        }
        const name = e.name;
        return sync((s) => {
          const v = s.run.vars;
          return v === undefined ? undefined : v[name];
        });
      }
      case 'index':
        return this.strict([sub(e.object), sub(e.index)], (v) => getElement(v[0], v[1]), trace);
      case 'call':
        return this.call(e, nested, trace, depth);
      case 'cast': {
        const type = castTypeOf(e.type, this.options.version);
        const keepWhole = this.keepWhole;
        return this.strict([sub(e.value)], (v) => castTo(v[0], type, keepWhole), trace);
      }
      case 'unary': {
        const keepWhole = this.keepWhole;
        const operand = sub(e.operand);
        if (e.op === 'NOT') return this.strict([operand], (v) => ops.not(v[0]), trace);
        return this.strict([operand], (v) => ops.negate(v[0], keepWhole), trace);
      }
      case 'binary':
        return this.binary(e, sub(e.left), sub(e.right), trace);
      case 'case':
        return this.caseExpr(sub(e.subject), e.whens.map((w) => ({ when: sub(w.when), then: sub(w.then) })), e.otherwise === undefined ? undefined : sub(e.otherwise));
      case 'object': {
        const entries = e.entries.map((en) => ({ key: en.key, value: sub(en.value) }));
        const build = (vals: readonly SqlValue[]): SqlValue => {
          const o: SqlObject = {};
          for (let i = 0; i < entries.length; i++) {
            const v = vals[i];
            if (v !== undefined) setOwn(o, entries[i]?.key ?? '', v);
          }
          return o;
        };
        return this.strict(entries.map((en) => en.value), build, trace, false);
      }
      case 'array':
        // [DECISION] Undefined items drop out, as Undefined members do from objects
        return this.strict(e.items.map(sub), (vals) => vals.filter((v) => v !== undefined), trace, false);
      case 'subquery': {
        const from = e.query.from;
        if (from === undefined) return this.fail(e.start, 'a nested query needs FROM');
        return this.subquery(e.query, sub(from), depth);
      }
    }
  }

  /** A node that evaluates all its children, then combines their values. */
  private strict(children: Compiled[], apply: (vals: readonly SqlValue[]) => SqlValue, trace: boolean, foldable = true): Compiled {
    if (children.some((c) => c.async)) {
      return asyncFn(async (s) => {
        const vals: SqlValue[] = [];
        for (const c of children) vals.push(await c.fn(s));
        return apply(vals);
      });
    }
    const fns = children.map((c) => c.fn as SyncFn);
    let fn: SyncFn;
    const [a, b] = fns;
    if (fns.length === 1 && a !== undefined) fn = (s) => apply([a(s)]);
    else if (fns.length === 2 && a !== undefined && b !== undefined) fn = (s) => apply([a(s), b(s)]);
    else fn = (s) => apply(fns.map((f) => f(s)));
    const c = sync(fn);
    const allConstant = children.every((ch) => !ch.async && ch.constant);
    return foldable && allConstant && !trace ? this.fold(c) : c;
  }

  private member(object: Compiled, name: string): Compiled {
    const proto = isPrototypeKey(name);
    if (object.async) {
      const f = object.fn;
      return asyncFn(async (s) => {
        const v = await f(s);
        return isObject(v) ? getOwn(v, name) : undefined;
      });
    }
    const f = object.fn;
    if (proto) return sync((s) => {
      const v = f(s);
      return isObject(v) ? getOwn(v, name) : undefined;
    });
    return sync((s) => {
      const v = f(s);
      return isObject(v) ? v[name] : undefined;
    });
  }

  private binary(e: BinaryExpr, l: Compiled, r: Compiled, trace: boolean): Compiled {
    const keepWhole = this.keepWhole;
    if (e.op === 'AND' || e.op === 'OR') return this.logical(e.op, l, r, trace);
    if (!l.async && !r.async) {
      const a = l.fn;
      const b = r.fn;
      let fn: SyncFn;
      const k = r.constant ? valueOf(r) : undefined;
      switch (e.op) {
        case '=':
          fn = (s) => ops.eq(a(s), b(s));
          break;
        case '<>':
          fn = (s) => ops.ne(a(s), b(s));
          break;
        case '<':
          fn = typeof k === 'number' ? (s) => { const x = a(s); return typeof x === 'number' ? x < k : ops.lt(x, k); } : (s) => ops.lt(a(s), b(s));
          break;
        case '<=':
          fn = typeof k === 'number' ? (s) => { const x = a(s); return typeof x === 'number' ? x <= k : ops.le(x, k); } : (s) => ops.le(a(s), b(s));
          break;
        case '>':
          fn = typeof k === 'number' ? (s) => { const x = a(s); return typeof x === 'number' ? x > k : ops.gt(x, k); } : (s) => ops.gt(a(s), b(s));
          break;
        case '>=':
          fn = typeof k === 'number' ? (s) => { const x = a(s); return typeof x === 'number' ? x >= k : ops.ge(x, k); } : (s) => ops.ge(a(s), b(s));
          break;
        case 'IN':
          fn = (s) => ops.isIn(a(s), b(s));
          break;
        case '+':
          fn = (s) => ops.add(a(s), b(s), keepWhole);
          break;
        default: {
          const op = e.op;
          fn = (s) => ops.arithmetic(op, a(s), b(s), keepWhole);
        }
      }
      const c = sync(fn);
      return l.constant && r.constant && !trace ? this.fold(c) : c;
    }
    const op = e.op;
    return this.strict([l, r], (v) => applyBinary(op, v[0], v[1], keepWhole), trace);
  }

  /** AND / OR, three-valued, right side evaluated only when it can change the result. */
  private logical(op: 'AND' | 'OR', l: Compiled, r: Compiled, trace: boolean): Compiled {
    const stop = op === 'OR'; // OR stops on true, AND on false
    if (!l.async && !r.async) {
      const a = l.fn;
      const b = r.fn;
      const c = sync((s) => {
        const x = toBool(a(s));
        if (x === stop) return stop;
        const y = toBool(b(s));
        if (y === stop) return stop;
        return x === !stop && y === !stop ? !stop : undefined;
      });
      return l.constant && r.constant && !trace ? this.fold(c) : c;
    }
    const a = l.fn;
    const b = r.fn;
    return asyncFn(async (s) => {
      const x = toBool(await a(s));
      if (x === stop) return stop;
      const y = toBool(await b(s));
      if (y === stop) return stop;
      return x === !stop && y === !stop ? !stop : undefined;
    });
  }

  private caseExpr(subject: Compiled, whens: { when: Compiled; then: Compiled }[], otherwise: Compiled | undefined): Compiled {
    const parts = [subject, ...whens.flatMap((w) => [w.when, w.then]), ...(otherwise === undefined ? [] : [otherwise])];
    if (!parts.some((p) => p.async)) {
      const subj = subject.fn as SyncFn;
      const ws = whens.map((w) => ({ when: w.when.fn as SyncFn, then: w.then.fn as SyncFn }));
      const other = otherwise?.fn as SyncFn | undefined;
      return sync((s) => {
        const v = subj(s);
        if (v === undefined) return undefined;
        for (const w of ws) if (ops.eq(v, w.when(s)) === true) return w.then(s);
        return other === undefined ? undefined : other(s);
      });
    }
    return asyncFn(async (s) => {
      const v = await subject.fn(s);
      if (v === undefined) return undefined;
      for (const w of whens) if (ops.eq(v, await w.when.fn(s)) === true) return w.then.fn(s);
      return otherwise === undefined ? undefined : otherwise.fn(s);
    });
  }

  private call(e: CallExpr, nested: boolean, trace: boolean, depth: number): Compiled {
    const def = this.lookup(e);
    const args = e.args.map((a, i) => {
      // encode(*, ...) at the top encodes the payload exactly as received (section 5)
      if (i === 0 && !nested && a.kind === 'star' && def.name === 'encode') return sync((s) => new Bytes(s.run.msg.payload));
      return this.expr(a, nested, trace, depth);
    });
    const impl = def.impl;
    const external = def.external;
    if (external !== undefined) {
      return asyncFn(async (s) => {
        const vals: SqlValue[] = [];
        for (const c of args) vals.push(await c.fn(s));
        return external(vals, s.run);
      });
    }
    if (args.some((c) => c.async)) {
      return asyncFn(async (s) => {
        const vals: SqlValue[] = [];
        for (const c of args) vals.push(await c.fn(s));
        return impl(vals, s.run);
      });
    }
    const fns = args.map((c) => c.fn as SyncFn);
    const [a, b, c3] = fns;
    let fn: SyncFn;
    if (fns.length === 0) fn = (s) => impl(EMPTY, s.run);
    else if (fns.length === 1 && a !== undefined) fn = (s) => impl([a(s)], s.run);
    else if (fns.length === 2 && a !== undefined && b !== undefined) fn = (s) => impl([a(s), b(s)], s.run);
    else if (fns.length === 3 && a !== undefined && b !== undefined && c3 !== undefined) fn = (s) => impl([a(s), b(s), c3(s)], s.run);
    else fn = (s) => impl(fns.map((f) => f(s)), s.run);
    const compiled = sync(fn);
    const foldable = def.pure && !trace && args.every((ch) => !ch.async && ch.constant);
    return foldable ? this.fold(compiled) : compiled;
  }

  private lookup(e: CallExpr): FunctionDef {
    const def = FUNCTIONS.get(e.name);
    if (def === undefined) {
      const guess = closest(e.name, FUNCTION_NAMES);
      this.fail(e.start, `unknown function '${e.written}'${guess !== undefined ? ` (did you mean ${guess}()?)` : ''}`);
    }
    const n = e.args.length;
    const arityOk = n >= def.minArgs && n <= def.maxArgs && (def.arities === undefined || def.arities.includes(n));
    if (!arityOk) {
      let expected: string;
      if (def.arities !== undefined) expected = def.arities.join(' or ');
      else if (def.maxArgs === Infinity) expected = `at least ${def.minArgs}`;
      else if (def.minArgs === def.maxArgs) expected = String(def.minArgs);
      else if (def.maxArgs === def.minArgs + 1) expected = `${def.minArgs} or ${def.maxArgs}`;
      else expected = `${def.minArgs} to ${def.maxArgs}`;
      const plural = expected === '1' ? 'argument' : 'arguments';
      this.fail(e.start, `${e.written}() takes ${expected} ${plural} but was given ${n}; usage: ${def.usage}`);
    }
    if (def.since !== '2015-10-08' && !isModern(this.options.version)) {
      this.fail(e.start, `${e.written}() needs SQL version ${def.since} (this rule uses ${this.options.version})`);
    }
    if (def.billed === true && !this.options.allowExternal) {
      this.fail(e.start, `${e.written}() calls another service and cannot be used here (error actions may not use external functions)`);
    }
    return def;
  }

  // -- queries ---------------------------------------------------------------------------------

  /**
   * A nested query over `from`: an array gives one result per element passing WHERE; an object
   * is queried as a one-element array. The result is always an array ([DECISION]: the observed
   * `get((SELECT *, topic() AS topic FROM *), 0)` and transform()'s array argument require it).
   */
  private subquery(q: Query<Expr>, from: Compiled, depth: number): Compiled {
    const where = q.where === undefined ? undefined : this.expr(q.where, true, false, depth);
    const project = this.projection(q.select, true, depth);
    const anyAsync = from.async || where?.async === true || project.async;
    if (!anyAsync) {
      const src = from.fn as SyncFn;
      const cond = where?.fn as SyncFn | undefined;
      const proj = project.fn as SyncFn;
      return sync((s) => {
        const value = src(s);
        const items = Array.isArray(value) ? value : isObject(value) ? [value] : undefined;
        if (items === undefined) return undefined;
        const out: SqlValue[] = [];
        for (const item of items) {
          const inner = scopeOf(item, s.run);
          if (cond !== undefined && cond(inner) !== true) continue;
          const v = proj(inner);
          if (v !== undefined) out.push(v);
        }
        return out;
      });
    }
    return asyncFn(async (s) => {
      const value = await from.fn(s);
      const items = Array.isArray(value) ? value : isObject(value) ? [value] : undefined;
      if (items === undefined) return undefined;
      const out: SqlValue[] = [];
      for (const item of items) {
        const inner = scopeOf(item, s.run);
        if (where !== undefined && (await where.fn(inner)) !== true) continue;
        const v = await project.fn(inner);
        if (v !== undefined) out.push(v);
      }
      return out;
    });
  }

  /**
   * The SELECT list as one closure producing the output value:
   *   SELECT VALUE e     → e
   *   SELECT *           → `*` itself (the payload object or raw bytes, shared, read-only)
   *   SELECT *, e AS k   → a copy of `*` (when an object) plus k
   *   SELECT a.b, e AS k → {b, k}; Undefined values are left out; `AS x.y` nests
   */
  projection(select: SelectClause, nested: boolean, depth: number): Projection {
    const first = select.items[0];
    if (select.value) {
      if (first === undefined || first.kind !== 'expr') return sync((s) => s.root);
      return this.expr(first.expr, nested, false, depth);
    }
    if (select.items.length === 1 && first?.kind === 'star') return sync((s) => s.root);
    type Item =
      | { kind: 'star' }
      | { kind: 'key'; key: string; c: Compiled }
      | { kind: 'path'; keys: readonly string[]; c: Compiled };
    const items: Item[] = [];
    for (const item of select.items) {
      if (item.kind === 'star') {
        items.push({ kind: 'star' });
        continue;
      }
      const keys = item.alias ?? defaultKey(item.expr);
      if (keys === undefined) {
        const text = this.options.source.slice(item.expr.start, item.expr.end);
        this.warnings.push(`SELECT item '${text}' has no alias and produces no output key; add AS name`);
        continue;
      }
      const c = this.expr(item.expr, nested, false, depth);
      const key = keys[0];
      if (keys.length === 1 && key !== undefined) items.push({ kind: 'key', key, c });
      else items.push({ kind: 'path', keys, c });
    }
    const startsWithStar = items[0]?.kind === 'star';
    const assign = (o: SqlObject, item: Item, v: SqlValue, root: SqlValue): void => {
      if (item.kind === 'star') {
        if (isObject(root)) for (const k of Object.keys(root)) setOwn(o, k, root[k]);
      } else if (v !== undefined) {
        if (item.kind === 'key') setOwn(o, item.key, v);
        else setPath(o, item.keys, v);
      }
    };
    if (!items.some((i) => i.kind !== 'star' && i.c.async)) {
      // the hot path: SELECT a, b AS c, ... with plain keys
      const plain = items.every((i) => i.kind === 'key' && i.key !== '__proto__');
      if (plain) {
        const keys = items.map((i) => (i.kind === 'key' ? i.key : ''));
        const fns = items.map((i) => (i.kind === 'key' ? (i.c.fn as SyncFn) : () => undefined));
        const build = sync(plainObjectBuilder(keys, fns));
        return new Set(keys).size === keys.length ? { ...build, serializer: objectSerializer(keys, this.keepWhole) } : build;
      }
      return sync((s) => {
        const root = s.root;
        const o: SqlObject = startsWithStar && isObject(root) ? { ...root } : {};
        for (let i = startsWithStar ? 1 : 0; i < items.length; i++) {
          const item = items[i] as Item;
          assign(o, item, item.kind === 'star' ? undefined : (item.c.fn as SyncFn)(s), root);
        }
        return o;
      });
    }
    return asyncFn(async (s) => {
      const root = s.root;
      const o: SqlObject = startsWithStar && isObject(root) ? { ...root } : {};
      for (let i = startsWithStar ? 1 : 0; i < items.length; i++) {
        const item = items[i] as Item;
        assign(o, item, item.kind === 'star' ? undefined : await item.c.fn(s), root);
      }
      return o;
    });
  }

  /** SET assignments in order; each sees the ones before it. */
  assignments(set: readonly Assignment[]): { readonly name: string; readonly c: Compiled }[] {
    return set.map((a) => ({ name: a.name, c: this.expr(a.value, false, false) }));
  }
}

function applyBinary(op: BinaryExpr['op'], a: SqlValue, b: SqlValue, keepWhole: boolean): SqlValue {
  switch (op) {
    case '=':
      return ops.eq(a, b);
    case '<>':
      return ops.ne(a, b);
    case '<':
      return ops.lt(a, b);
    case '<=':
      return ops.le(a, b);
    case '>':
      return ops.gt(a, b);
    case '>=':
      return ops.ge(a, b);
    case 'IN':
      return ops.isIn(a, b);
    case 'AND':
      return ops.and(a, b);
    case 'OR':
      return ops.or(a, b);
    case '+':
      return ops.add(a, b, keepWhole);
    default:
      return ops.arithmetic(op, a, b, keepWhole);
  }
}

/** `a.b.c` rooted at a bare name, as its keys; undefined for any other shape. */
function pathOf(e: Expr): string[] | undefined {
  if (e.kind === 'ident') return [e.name];
  if (e.kind !== 'member') return undefined;
  const head = pathOf(e.object);
  return head === undefined ? undefined : [...head, e.name];
}

/** Output key of an item without AS: [DECISION] the last name of a path (`a.b.c` → c, `*.m` → m). */
function defaultKey(e: Expr): string[] | undefined {
  if (e.kind === 'ident' || e.kind === 'member') return [e.name];
  return undefined;
}

/** Member path from the scope's document, with a closure per common length. */
function compilePath(keys: readonly string[]): SyncFn {
  if (keys.some(isPrototypeKey)) {
    return (s) => {
      let v: SqlValue = s.doc;
      for (const k of keys) {
        if (!isObject(v)) return undefined;
        v = getOwn(v, k);
      }
      return v;
    };
  }
  const [k0, k1, k2] = keys as [string, string | undefined, string | undefined];
  if (keys.length === 1) {
    return (s) => {
      const d = s.doc;
      return d === undefined ? undefined : d[k0];
    };
  }
  if (keys.length === 2 && k1 !== undefined) {
    return (s) => {
      const d = s.doc;
      if (d === undefined) return undefined;
      const v = d[k0];
      return isObject(v) ? v[k1] : undefined;
    };
  }
  if (keys.length === 3 && k1 !== undefined && k2 !== undefined) {
    return (s) => {
      const d = s.doc;
      if (d === undefined) return undefined;
      const v = d[k0];
      if (!isObject(v)) return undefined;
      const w = v[k1];
      return isObject(w) ? w[k2] : undefined;
    };
  }
  return (s) => {
    let v: SqlValue = s.doc;
    for (const k of keys) {
      if (!isObject(v)) return undefined;
      v = v[k];
    }
    return v;
  };
}

/** Write `AS a.b.c`: intermediate objects are copied, never mutated in place (they may be the payload's). */
function setPath(o: SqlObject, keys: readonly string[], v: SqlValue): void {
  let cur = o;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i] as string;
    const existing = getOwn(cur, k);
    const next: SqlObject = isObject(existing) ? { ...existing } : {};
    setOwn(cur, k, next);
    cur = next;
  }
  setOwn(cur, keys[keys.length - 1] as string, v);
}

/** Does the expression read the payload (a bare name or `*` outside nested query bodies)? */
export function readsPayload(e: Expr | undefined): boolean {
  if (e === undefined) return false;
  switch (e.kind) {
    case 'ident':
    case 'star':
      return true;
    case 'literal':
    case 'var':
      return false;
    case 'member':
      return readsPayload(e.object);
    case 'index':
      return readsPayload(e.object) || readsPayload(e.index);
    case 'call':
      return e.args.some(readsPayload);
    case 'cast':
      return readsPayload(e.value);
    case 'unary':
      return readsPayload(e.operand);
    case 'binary':
      return readsPayload(e.left) || readsPayload(e.right);
    case 'case':
      return readsPayload(e.subject) || e.whens.some((w) => readsPayload(w.when) || readsPayload(w.then)) || readsPayload(e.otherwise);
    case 'object':
      return e.entries.some((en) => readsPayload(en.value));
    case 'array':
      return e.items.some(readsPayload);
    case 'subquery':
      return readsPayload(e.query.from);
  }
}

export function statementReadsPayload(st: Statement): boolean {
  return (
    st.set.some((a) => readsPayload(a.value)) ||
    readsPayload(st.where) ||
    st.select.items.some((i) => i.kind === 'star' || readsPayload(i.expr))
  );
}

/**
 * SELECT of plain keys: `o.id = ...; o.ts = ...` generated per statement, so each store is a named
 * property store V8 can cache (a loop over a key array makes every store a generic keyed one, the
 * costliest step of a typical rule). The keys enter the source only as JSON string literals; a
 * long SELECT keeps the loop.
 */
function plainObjectBuilder(keys: readonly string[], fns: readonly SyncFn[]): SyncFn {
  if (keys.length > 32) {
    return (s) => {
      const o: SqlObject = {};
      for (let i = 0; i < fns.length; i++) {
        const v = (fns[i] as SyncFn)(s);
        if (v !== undefined) o[keys[i] as string] = v;
      }
      return o;
    };
  }
  const params = fns.map((_, i) => `f${i}`);
  const body = keys.map((k, i) => `v = f${i}(s); if (v !== undefined) o[${JSON.stringify(k)}] = v;`).join(' ');
  const factory = new Function(...params, `return function project(s) { const o = {}; let v; ${body} return o; };`) as (...f: SyncFn[]) => SyncFn;
  return factory(...fns);
}
