/**
 * Substitution templates `${expression}` in action parameters (spec/iot-sql.md section 8).
 *
 * The expression is any SELECT/WHERE expression, evaluated with the same compiler against the
 * *original* message (not the SELECT output: AS aliases are not visible), with the rule's SET
 * variables. Rendering: strings raw, numbers and booleans as text, objects and arrays as JSON,
 * Null as `null`, Undefined as the empty string ([DECISION] section 8).
 *
 *   "${topic()}/republish"            on my/iot/topic          → "my/iot/topic/republish"
 *   "${replace(topic(), '/', '-')}"   on a/b                   → "a-b"
 *
 * Templates of error actions may not call external functions (allowExternalFunctions: false).
 * A template that cannot be parsed is an SqlParseException naming the position in the template.
 */
import type { Expr } from './sql/ast.js';
import { Compiler, readsPayload, type Compiled, type SyncFn } from './sql/compile.js';
import { sqlError } from './sql/errors.js';
import { parseTemplateExpression } from './sql/parser.js';
import { Message, Run, Scope, scopeOf } from './sql/runtime.js';
import { Bytes, DEFAULT_SQL_VERSION, isModern, numberText, serialize, WholeDecimal, type SqlValue, type SqlVersion } from './sql/values.js';
import { RuleMatch } from './rule.js';

export interface TemplateOptions {
  /** False for error actions (no aws_lambda, get_thing_shadow ...). Default true. */
  readonly allowExternalFunctions?: boolean;
  /** Names the template in error messages, e.g. "republish.topic". */
  readonly label?: string;
}

type Part = string | { readonly expr: Expr; readonly c: Compiled };

/** A template value as text. */
export function templateText(v: SqlValue): string {
  if (v === undefined) return '';
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof WholeDecimal) return numberText(v);
  if (v instanceof Bytes) return v.buf.toString('utf8');
  return serialize(v);
}

export class CompiledTemplate {
  /** True when an expression calls an external function: render() then returns a Promise. */
  readonly isAsync: boolean;
  /** True when the template has no `${...}` at all. */
  readonly isConstant: boolean;
  private readonly keepWhole: boolean;
  private readonly readsPayload: boolean;

  constructor(
    readonly text: string,
    readonly version: SqlVersion,
    private readonly parts: readonly Part[],
  ) {
    this.isAsync = parts.some((p) => typeof p !== 'string' && p.c.async);
    this.isConstant = parts.every((p) => typeof p === 'string');
    this.keepWhole = !isModern(version);
    this.readsPayload = parts.some((p) => typeof p !== 'string' && readsPayload(p.expr));
  }

  /** Render against a match (the rule's message and SET variables) or a bare prepared message. */
  render(source: RuleMatch | Message): string | Promise<string> {
    if (this.isConstant) return this.parts.join('');
    const scope = this.scope(source);
    if (this.isAsync) return this.renderAsync(scope);
    let out = '';
    for (const p of this.parts) out += typeof p === 'string' ? p : templateText((p.c.fn as SyncFn)(scope));
    return out;
  }

  private async renderAsync(scope: Scope): Promise<string> {
    let out = '';
    for (const p of this.parts) out += typeof p === 'string' ? p : templateText(await p.c.fn(scope));
    return out;
  }

  private scope(source: RuleMatch | Message): Scope {
    const msg = source instanceof RuleMatch ? source.message : source;
    const run = new Run(msg, this.version, this.keepWhole, undefined);
    if (source instanceof RuleMatch) run.vars = source.vars;
    return this.readsPayload ? scopeOf(msg.root(this.keepWhole), run) : new Scope(undefined, undefined, run);
  }
}

export function compileTemplate(text: string, version: SqlVersion = DEFAULT_SQL_VERSION, options: TemplateOptions = {}): CompiledTemplate {
  const label = options.label === undefined ? 'Substitution template' : `Substitution template ${options.label}`;
  const compiler = new Compiler({
    version,
    source: text,
    label,
    variables: undefined,
    allowExternal: options.allowExternalFunctions !== false,
  });
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('${', i);
    if (open === -1) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, open);
    const close = text.indexOf('}', open + 2);
    if (close === -1) throw sqlError(text, open, "'${' is never closed with '}'", label);
    const { expr, end } = parseTemplateExpression(text, open + 2, version, label);
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push({ expr, c: compiler.expr(expr, false, false) });
    i = end;
  }
  if (literal !== '') parts.push(literal);
  return new CompiledTemplate(text, version, parts);
}
