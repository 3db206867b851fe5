/**
 * Recursive-descent parser for IoT SQL statements (spec/iot-sql.md section 1):
 *
 *   statement := [SET @v = expr {, @v = expr}] SELECT [VALUE] item {, item} [FROM 'filter'] [WHERE expr]
 *   item      := * | expr [AS name {. name}]
 *
 * Expressions, loosest binding first ([DECISION] section 4, standard SQL):
 *
 *   OR  <  AND  <  NOT  <  = <> < <= > >= IN (non-associative)  <  + -  <  * / %  <  unary -  <  . [] call
 *
 * e.g. `NOT a = 1 OR b + 2 * c > 5` parses as `(NOT (a = 1)) OR ((b + (2 * c)) > 5)`.
 *
 * Version rules (section 2) are enforced here when they are syntax: nested queries and
 * object/array literals need 2016-03-23. Function names and arities are checked by compile.ts.
 * Every error is an SqlParseException naming the line and column and what was expected.
 */
import type {
  Assignment,
  BinaryOp,
  CaseExpr,
  Expr,
  Query,
  SelectClause,
  SelectItem,
  Statement,
  SubqueryExpr,
  TopicFrom,
} from './ast.js';
import { closest } from './errors.js';
import { describeToken, Lexer, type Token } from './lexer.js';
import { isModern, normalizeBigInt, WholeDecimal, type SqlValue, type SqlVersion } from './values.js';

/** Words that end or structure an expression, so they cannot be bare attribute names. */
const RESERVED = new Set([
  'SELECT', 'FROM', 'WHERE', 'AS', 'AND', 'OR', 'NOT', 'IN', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END',
  'TRUE', 'FALSE', 'NULL', 'SET',
]);

const UNSUPPORTED_OPERATORS: Readonly<Record<string, string>> = {
  LIKE: 'LIKE is not supported by AWS IoT SQL; use regexp_matches(value, pattern)',
  BETWEEN: 'BETWEEN is not supported by AWS IoT SQL; write x >= low AND x <= high',
  IS: 'IS [NOT] NULL is not supported by AWS IoT SQL; use isNull(x) or isUndefined(x)',
  CONTAINS: 'CONTAINS is not supported; use x IN array, or indexof(string, part) >= 0',
};

const COMPARISONS = new Set(['=', '<>', '<', '<=', '>', '>=']);

/** Deepest syntactic nesting accepted (parentheses, unary operators, nested queries ...). */
const MAX_NESTING = 200;

const STATEMENT_KEYWORDS = ['SELECT', 'FROM', 'WHERE', 'AS', 'SET', 'VALUE', 'AND', 'OR', 'NOT', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END'];

export function parseStatement(sql: string, version: SqlVersion): Statement {
  const p = new Parser(new Lexer(sql), version);
  return p.statement();
}

/**
 * Parse one expression starting at `start` of `src` that must be followed by `}` (the body of a
 * substitution template `${...}`); returns the expression and the offset just past the `}`.
 */
export function parseTemplateExpression(src: string, start: number, version: SqlVersion, label: string): { expr: Expr; end: number } {
  const p = new Parser(new Lexer(src, start, label), version);
  return p.embedded();
}

class Parser {
  private cur: Token;
  private ahead: Token | undefined;
  private prev: Token | undefined;
  private nesting = 0;
  private readonly modern: boolean;

  constructor(
    private readonly lexer: Lexer,
    private readonly version: SqlVersion,
  ) {
    this.cur = lexer.next();
    this.modern = isModern(version);
  }

  // -- token helpers ---------------------------------------------------------------------------

  private advance(): Token {
    const t = this.cur;
    this.prev = t;
    if (this.ahead !== undefined) {
      this.cur = this.ahead;
      this.ahead = undefined;
    } else {
      this.cur = this.lexer.next();
    }
    return t;
  }

  private peek(): Token {
    if (this.ahead === undefined) this.ahead = this.lexer.next();
    return this.ahead;
  }

  private isWord(word: string, t: Token = this.cur): boolean {
    return t.kind === 'word' && t.upper === word;
  }

  private isOp(op: string, t: Token = this.cur): boolean {
    return t.kind === 'op' && t.text === op;
  }

  private fail(at: number, why: string): never {
    return this.lexer.fail(at, why);
  }

  private expected(what: string, t: Token = this.cur): never {
    let why = `expected ${what} but found ${describeToken(t)}`;
    if (t.kind === 'word') {
      const unsupported = UNSUPPORTED_OPERATORS[t.upper];
      if (unsupported !== undefined) why = unsupported;
      else if (!RESERVED.has(t.upper)) {
        const guess = closest(t.text, STATEMENT_KEYWORDS);
        if (guess !== undefined && guess !== t.upper) why += ` (did you mean ${guess}?)`;
      }
    }
    if (this.isOp(';', t)) why = 'a statement must not end with a semicolon';
    return this.fail(t.start, why);
  }

  private expectOp(op: string, context: string): Token {
    if (!this.isOp(op)) this.expected(`'${op}' ${context}`);
    return this.advance();
  }

  private enter(at: number): void {
    if (++this.nesting > MAX_NESTING) this.fail(at, `the expression is nested more than ${MAX_NESTING} levels deep`);
  }

  private leave(): void {
    this.nesting--;
  }

  private needModern(at: number, feature: string): void {
    if (!this.modern) this.fail(at, `${feature} need SQL version 2016-03-23 (this rule uses ${this.version})`);
  }

  // -- statements ------------------------------------------------------------------------------

  statement(): Statement {
    const set = this.isWord('SET') ? this.setClause() : [];
    if (!this.isWord('SELECT')) {
      if (this.cur.kind === 'eof') this.fail(this.cur.start, 'the statement is empty; a rule statement starts with SELECT');
      this.expected(set.length > 0 ? 'SELECT after the SET clause' : 'SELECT (a rule statement starts with SELECT, or SET ... SELECT)');
    }
    const select = this.selectClause(false);
    let from: TopicFrom | undefined;
    let where: Expr | undefined;
    if (this.isWord('FROM')) from = this.topicFrom();
    if (this.isWord('WHERE')) {
      this.advance();
      where = this.expression();
    }
    if (this.cur.kind !== 'eof') {
      if (this.isWord('FROM')) this.fail(this.cur.start, 'FROM must come before WHERE');
      if (this.isWord('SET')) this.fail(this.cur.start, 'the SET clause must come first, before SELECT');
      if (this.isWord('WHERE') || this.isWord('SELECT')) this.fail(this.cur.start, `${this.cur.upper} may appear only once`);
      this.expected(where !== undefined ? 'an operator or the end of the statement' : from !== undefined ? 'WHERE or the end of the statement' : "',', AS, FROM, WHERE or the end of the statement");
    }
    return { set, select, from, where, sql: this.lexer.src };
  }

  embedded(): { expr: Expr; end: number } {
    if (this.isOp('}')) this.fail(this.cur.start, 'the substitution template ${} is empty; put an expression inside');
    const expr = this.expression();
    if (!this.isOp('}')) this.expected("an operator or '}' closing the substitution template");
    return { expr, end: this.cur.end };
  }

  private setClause(): Assignment[] {
    this.advance();
    const out: Assignment[] = [];
    const seen = new Set<string>();
    for (;;) {
      const t = this.cur;
      if (t.kind !== 'var') this.expected('a variable such as @name after SET');
      if (t.text.length > 64) this.fail(t.start, `variable names are at most 64 characters (@${t.text.slice(0, 20)}... has ${t.text.length})`);
      if (seen.has(t.text)) this.fail(t.start, `the variable @${t.text} is assigned twice; each variable is set once`);
      seen.add(t.text);
      this.advance();
      this.expectOp('=', `after @${t.text}`);
      const value = this.expression();
      out.push({ name: t.text, value, start: t.start, end: value.end });
      if (!this.isOp(',')) break;
      this.advance();
    }
    if (this.isWord('SET')) this.fail(this.cur.start, 'SET may appear only once; separate assignments with commas');
    return out;
  }

  private topicFrom(): TopicFrom {
    const kw = this.advance();
    const t = this.cur;
    if (t.kind !== 'string') {
      if (t.kind === 'eof') this.fail(t.start, "expected a quoted topic filter after FROM, as in FROM 'sensors/+/data'");
      this.fail(t.start, `the FROM topic filter must be quoted, as in FROM 'sensors/#' (found ${describeToken(t)})`);
    }
    this.advance();
    validateTopicFilter(t.text, (why) => this.fail(t.start, why));
    return { filter: t.text, start: kw.start, end: t.end };
  }

  private selectClause(nested: boolean): SelectClause {
    const kw = this.advance(); // SELECT
    let value = false;
    if (this.isWord('VALUE') && this.valueIsKeyword()) {
      value = true;
      this.advance();
    }
    const items: SelectItem[] = [];
    for (;;) {
      items.push(this.selectItem(value));
      if (!this.isOp(',')) break;
      this.advance();
    }
    const first = items[0];
    if (value && (items.length > 1 || first === undefined)) {
      const second = items[1];
      this.fail(second?.start ?? kw.start, 'SELECT VALUE takes exactly one expression');
    }
    const last = items[items.length - 1];
    if (!nested && this.cur.kind === 'word' && !RESERVED.has(this.cur.upper) && UNSUPPORTED_OPERATORS[this.cur.upper] === undefined) {
      const guess = closest(this.cur.text, ['FROM', 'WHERE', 'AS']);
      this.fail(this.cur.start, `expected ',', AS, FROM, WHERE or the end of the statement but found ${describeToken(this.cur)}${guess !== undefined ? ` (did you mean ${guess}?)` : ' (to name an output key write AS name)'}`);
    }
    return { value, items, start: kw.start, end: last?.end ?? kw.end };
  }

  /** After SELECT, is the word VALUE the keyword or an attribute called `value`? */
  private valueIsKeyword(): boolean {
    const n = this.peek();
    switch (n.kind) {
      case 'eof':
        return false;
      case 'word':
        return !['FROM', 'WHERE', 'AS', 'AND', 'OR', 'IN'].includes(n.upper);
      case 'op':
        if (n.text === '*') {
          // SELECT VALUE *.a / VALUE * FROM ... versus the attribute `value` times something
          const after = new Lexer(this.lexer.src, n.end, this.lexer.label).next();
          return after.kind === 'eof' || (after.kind === 'op' && (after.text === '.' || after.text === ',' || after.text === ')')) || (after.kind === 'word' && ['FROM', 'WHERE'].includes(after.upper));
        }
        return ['(', '{', '['].includes(n.text);
      default:
        return true;
    }
  }

  private selectItem(value: boolean): SelectItem {
    const start = this.cur.start;
    const expr = this.expression();
    let alias: string[] | undefined;
    if (this.isWord('AS')) {
      const as = this.advance();
      if (value) this.fail(as.start, 'SELECT VALUE cannot have an alias (AS)');
      alias = [this.name('an output key name after AS')];
      while (this.isOp('.')) {
        this.advance();
        alias.push(this.name("a key name after '.' in the alias"));
      }
      if (expr.kind === 'star') this.fail(as.start, "'*' cannot have an alias; write SELECT *, expr AS name");
    }
    if (expr.kind === 'star' && alias === undefined && !value) return { kind: 'star', start: expr.start, end: expr.end };
    return { kind: 'expr', expr, alias, start, end: this.previousEnd(expr, alias) };
  }

  private previousEnd(expr: Expr, alias: readonly string[] | undefined): number {
    return alias === undefined ? expr.end : Math.max(expr.end, this.lastNameEnd);
  }

  private lastNameEnd = 0;

  /** Any word (keywords included) where only a name can stand: after '.', after AS, object keys. */
  private name(what: string): string {
    const t = this.cur;
    if (t.kind !== 'word') this.expected(what);
    this.advance();
    this.lastNameEnd = t.end;
    return t.text;
  }

  // -- expressions -----------------------------------------------------------------------------

  expression(): Expr {
    this.enter(this.cur.start);
    const e = this.or();
    this.leave();
    return e;
  }

  private or(): Expr {
    let left = this.and();
    while (this.isWord('OR')) {
      this.advance();
      const right = this.and();
      left = { kind: 'binary', op: 'OR', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isWord('AND')) {
      this.advance();
      const right = this.not();
      left = { kind: 'binary', op: 'AND', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private not(): Expr {
    if (this.isWord('NOT')) {
      const kw = this.advance();
      this.enter(kw.start);
      const operand = this.not();
      this.leave();
      return { kind: 'unary', op: 'NOT', operand, start: kw.start, end: operand.end };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.additive();
    const t = this.cur;
    let op: BinaryOp | undefined;
    if (t.kind === 'op' && COMPARISONS.has(t.text)) op = t.text as BinaryOp;
    else if (this.isWord('IN')) op = 'IN';
    else if (this.isWord('NOT') && this.isWord('IN', this.peek())) this.fail(t.start, 'NOT IN is not supported; write NOT (x IN array)');
    else if (t.kind === 'word' && UNSUPPORTED_OPERATORS[t.upper] !== undefined) this.fail(t.start, UNSUPPORTED_OPERATORS[t.upper] ?? '');
    if (op === undefined) return left;
    this.advance();
    const right = this.additive();
    const after = this.cur;
    if ((after.kind === 'op' && COMPARISONS.has(after.text)) || this.isWord('IN')) {
      this.fail(after.start, `comparisons cannot be chained (${describeToken(after)} follows '${op}'); combine them with AND or use parentheses`);
    }
    return { kind: 'binary', op, left, right, start: left.start, end: right.end };
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.advance().text as '+' | '-';
      const right = this.multiplicative();
      left = { kind: 'binary', op, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.advance().text as '*' | '/' | '%';
      const right = this.unary();
      left = { kind: 'binary', op, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private unary(): Expr {
    if (this.isOp('-')) {
      const minus = this.advance();
      this.enter(minus.start);
      const operand = this.unary();
      this.leave();
      if (operand.kind === 'literal') {
        const negated = negateLiteral(operand.value);
        if (negated !== undefined) return { kind: 'literal', value: negated, start: minus.start, end: operand.end };
      }
      return { kind: 'unary', op: '-', operand, start: minus.start, end: operand.end };
    }
    if (this.isOp('+')) this.fail(this.cur.start, "unary '+' is not supported; write the number without it");
    return this.postfix(this.primary());
  }

  private postfix(e: Expr): Expr {
    for (;;) {
      if (this.isOp('.')) {
        this.advance();
        const t = this.cur;
        if (t.kind !== 'word') {
          if (t.kind === 'number') this.fail(t.start, `attribute names that start with a digit need get(): get(x, "${t.text}")`);
          this.expected("an attribute name after '.'");
        }
        this.advance();
        e = { kind: 'member', object: e, name: t.text, start: e.start, end: t.end };
      } else if (this.isOp('[')) {
        this.advance();
        const index = this.expression();
        const close = this.expectOp(']', 'closing the index');
        e = { kind: 'index', object: e, index, start: e.start, end: close.end };
      } else {
        return e;
      }
    }
  }

  private primary(): Expr {
    const t = this.cur;
    switch (t.kind) {
      case 'number':
        this.advance();
        return { kind: 'literal', value: this.numberLiteral(t.text, t.start), start: t.start, end: t.end };
      case 'string':
        this.advance();
        return { kind: 'literal', value: t.text, start: t.start, end: t.end };
      case 'var':
        this.advance();
        return { kind: 'var', name: t.text, start: t.start, end: t.end };
      case 'word':
        return this.word(t);
      case 'op':
        return this.punctuation(t);
      default:
        return this.expectedExpression();
    }
  }

  /** "expected an expression after '>' but found the end of the statement". */
  private expectedExpression(): never {
    const p = this.prev;
    const after = p === undefined ? '' : p.kind === 'op' || p.kind === 'word' ? ` after ${p.kind === 'word' ? p.upper : `'${p.text}'`}` : '';
    return this.expected(`an expression${after}`);
  }

  private word(t: Token): Expr {
    switch (t.upper) {
      case 'TRUE':
      case 'FALSE':
        this.advance();
        return { kind: 'literal', value: t.upper === 'TRUE', start: t.start, end: t.end };
      case 'NULL':
        this.advance();
        return { kind: 'literal', value: null, start: t.start, end: t.end };
      case 'CASE':
        return this.caseExpr();
      case 'SELECT':
        return this.fail(t.start, 'a nested SELECT must be in parentheses: (SELECT ... FROM ...)');
      case 'NOT':
        return this.fail(t.start, 'NOT cannot stand here; put it in parentheses: (NOT x)');
      default:
        break;
    }
    if (RESERVED.has(t.upper)) this.expectedExpression();
    this.advance();
    if (this.isOp('(')) return this.call(t);
    return { kind: 'ident', name: t.text, start: t.start, end: t.end };
  }

  private punctuation(t: Token): Expr {
    switch (t.text) {
      case '*':
        this.advance();
        return { kind: 'star', start: t.start, end: t.end };
      case '(': {
        this.advance();
        this.enter(t.start);
        let inner: Expr;
        if (this.isWord('SELECT')) inner = this.subquery(t.start);
        else inner = this.expression();
        this.leave();
        const close = this.expectOp(')', `closing the parenthesis opened at column ${t.start + 1}`);
        if (inner.kind === 'subquery') return { ...inner, start: t.start, end: close.end };
        return inner;
      }
      case '{':
        return this.objectLiteral(t);
      case '[':
        return this.arrayLiteral(t);
      default:
        return this.expectedExpression();
    }
  }

  private numberLiteral(text: string, at: number): SqlValue {
    if (/[.eE]/.test(text)) {
      const n = Number(text);
      if (!Number.isFinite(n)) this.fail(at, `the number ${text} is out of range`);
      return !this.modern && Number.isInteger(n) ? new WholeDecimal(n) : n;
    }
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : normalizeBigInt(BigInt(text));
  }

  private call(nameToken: Token): Expr {
    const open = this.advance(); // '('
    const name = nameToken.text.toLowerCase();
    this.enter(open.start);
    if (name === 'cast') {
      const value = this.expression();
      if (!this.isWord('AS')) this.expected('AS and a type in cast(value AS type)');
      this.advance();
      const typeTok = this.cur;
      if (typeTok.kind !== 'word') this.expected('a type name (String, Int, Decimal, Double, Boolean ...) after AS');
      this.advance();
      const close = this.expectOp(')', 'closing cast(...)');
      this.leave();
      return { kind: 'cast', value, type: typeTok.text.toLowerCase(), start: nameToken.start, end: close.end };
    }
    const args: Expr[] = [];
    if (!this.isOp(')')) {
      for (;;) {
        if (this.isWord('SELECT')) args.push(this.subquery(this.cur.start));
        else args.push(this.expression());
        if (!this.isOp(',')) break;
        this.advance();
      }
    }
    const close = this.expectOp(')', `or ',' in the arguments of ${nameToken.text}()`);
    this.leave();
    return { kind: 'call', name, written: nameToken.text, args, start: nameToken.start, end: close.end };
  }

  private subquery(start: number): SubqueryExpr {
    this.needModern(start, 'nested queries (SELECT inside an expression)');
    const select = this.selectClause(true);
    if (!this.isWord('FROM')) this.expected('FROM in the nested query (SELECT ... FROM attribute)');
    this.advance();
    const from = this.expression();
    let where: Expr | undefined;
    if (this.isWord('WHERE')) {
      this.advance();
      where = this.expression();
    }
    const query: Query<Expr> = { select, from, where };
    return { kind: 'subquery', query, start, end: (where ?? from).end };
  }

  private caseExpr(): CaseExpr {
    const kw = this.advance();
    if (this.isWord('WHEN')) {
      this.fail(this.cur.start, 'searched CASE (CASE WHEN condition ...) is not supported by AWS IoT SQL; write CASE value WHEN match THEN result ... END');
    }
    const subject = this.expression();
    const whens: { when: Expr; then: Expr }[] = [];
    while (this.isWord('WHEN')) {
      this.advance();
      const when = this.expression();
      if (!this.isWord('THEN')) this.expected('THEN after the WHEN value');
      this.advance();
      const then = this.expression();
      whens.push({ when, then });
    }
    if (whens.length === 0) this.expected('WHEN (CASE needs at least one WHEN ... THEN ...)');
    let otherwise: Expr | undefined;
    if (this.isWord('ELSE')) {
      this.advance();
      otherwise = this.expression();
    }
    if (!this.isWord('END')) this.expected(otherwise === undefined ? 'WHEN, ELSE or END in CASE' : 'END closing CASE');
    const end = this.advance();
    return { kind: 'case', subject, whens, otherwise, start: kw.start, end: end.end };
  }

  private objectLiteral(open: Token): Expr {
    this.needModern(open.start, 'object literals {...}');
    this.advance();
    this.enter(open.start);
    const entries: { key: string; value: Expr }[] = [];
    if (!this.isOp('}')) {
      for (;;) {
        const k = this.cur;
        if (k.kind !== 'string' && k.kind !== 'word') this.expected("a key (a quoted string such as 'name') in the object literal");
        this.advance();
        this.expectOp(':', `after the key ${describeToken(k)}`);
        entries.push({ key: k.text, value: this.expression() });
        if (!this.isOp(',')) break;
        this.advance();
      }
    }
    const close = this.expectOp('}', 'or \',\' in the object literal');
    this.leave();
    return { kind: 'object', entries, start: open.start, end: close.end };
  }

  private arrayLiteral(open: Token): Expr {
    this.needModern(open.start, 'array literals [...]');
    this.advance();
    this.enter(open.start);
    const items: Expr[] = [];
    if (!this.isOp(']')) {
      for (;;) {
        items.push(this.expression());
        if (!this.isOp(',')) break;
        this.advance();
      }
    }
    const close = this.expectOp(']', "or ',' in the array literal");
    this.leave();
    return { kind: 'array', items, start: open.start, end: close.end };
  }
}

function negateLiteral(v: SqlValue): SqlValue {
  if (typeof v === 'number') return v === 0 ? 0 : -v;
  if (typeof v === 'bigint') return normalizeBigInt(-v);
  if (v instanceof WholeDecimal) return new WholeDecimal(v.n === 0 ? 0 : -v.n);
  return undefined;
}

/**
 * MQTT topic filter rules for FROM (section 1): `+` fills a whole level, `#` is a whole last
 * level, no NUL; filters are at most 256 UTF-8 bytes.
 */
export function validateTopicFilter(filter: string, fail: (why: string) => never): void {
  if (filter.length === 0) fail('the FROM topic filter is empty');
  if (Buffer.byteLength(filter, 'utf8') > 256) fail('the FROM topic filter is longer than 256 bytes');
  if (filter.includes('\u0000')) fail('the FROM topic filter contains a NUL character');
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] ?? '';
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      fail(`in the FROM topic filter '${filter}', '#' must be a whole level and the last one`);
    }
    if (level.includes('+') && level !== '+') fail(`in the FROM topic filter '${filter}', '+' must fill a whole level`);
  }
}
