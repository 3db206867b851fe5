/**
 * The route-definition API other rooms' route modules use, and the route table that matches a
 * request's RAW path (spec/http-api.md 1.2): the path is split on `/` first and each segment is
 * percent-decoded afterwards, so `/things/my%3Athing_1` gives thingName `my:thing_1` and
 * `/topics/dt%2Fsensor%201` gives topic `dt/sensor 1`. A final `:name+` segment is greedy: it takes
 * the decoded remainder, so `/topics/a/b%2Fc` also gives topic `a/b/c` (curl users write it so).
 *
 * Matching: routes are grouped by their first literal segment; among the candidates the most
 * specific wins (literal > `:param` > `:param+`, segment by segment), so `/things/count` would beat
 * `/things/:thingName`. A path that matches with another method gives 405, none at all 404.
 */
import type { ValueReader } from './values.js';
import { safeDecode } from './values.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export const httpMethods: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Who signed the request (SigV4). On `auth: 'none'` routes it is `anonymousPrincipal` (accessKeyId ''). */
export interface ApiPrincipal {
  readonly accessKeyId: string;
}

export const anonymousPrincipal: ApiPrincipal = Object.freeze({ accessKeyId: '' });

/** The logging surface api/ needs; pino's Logger satisfies it. */
export interface ApiLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** `'/things/:thingName/shadow'` → `{ thingName: string }`; `':topic+'` (greedy) → `{ topic: string }`. */
export type ParamsOf<Path extends string> = Path extends `${string}:${infer Rest}`
  ? Rest extends `${infer Name}/${infer Tail}`
    ? { readonly [K in ParamName<Name>]: string } & ParamsOf<`/${Tail}`>
    : { readonly [K in ParamName<Rest>]: string }
  : Record<never, never>;
type ParamName<S extends string> = S extends `${infer N}+` ? N : S;

/** What a handler gets. Everything is decoded; `body` is parsed JSON only after SigV4 passed. */
export interface RouteRequest<Params = Record<string, string>> {
  /** Also sent as `x-amzn-RequestId`. */
  readonly requestId: string;
  readonly method: HttpMethod;
  /** The path as received, still percent-encoded (without the query). */
  readonly rawPath: string;
  /** Path labels, percent-decoded. */
  readonly params: Params;
  /** Query parameters, percent-decoded; typed getters throw 400 InvalidRequestException on bad values. */
  readonly query: ValueReader;
  /** Request headers, names case-insensitive; repeated headers joined with `, `. */
  readonly headers: ValueReader;
  /**
   * The JSON body (any JSON value) for `body: 'json'` routes; undefined when the body is empty and
   * always undefined for `body: 'raw'` routes. Use `jsonBody(req)` for typed member getters.
   */
  readonly body: unknown;
  /** The body bytes exactly as received. */
  readonly rawBody: Buffer;
  readonly principal: ApiPrincipal;
  /** Child logger carrying requestId and operation. */
  readonly log: ApiLogger;
}

/** A response whose body is not JSON built by api/ (shadow documents, blobs). Create with `rawResponse()`. */
export class RawResponse {
  constructor(
    readonly status: number,
    readonly body: Buffer,
    readonly contentType: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

/** Default content type `application/json`, status 200. */
export function rawResponse(
  body: Buffer | string,
  options: { status?: number; contentType?: string; headers?: Readonly<Record<string, string>> } = {},
): RawResponse {
  return new RawResponse(
    options.status ?? 200,
    typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
    options.contentType ?? 'application/json',
    options.headers ?? {},
  );
}

/**
 * What a handler returns: a JSON-able object (sent with 200 and `application/json`; absent
 * optional members must be `undefined`, never `null`), `undefined` for an empty 200, or a
 * RawResponse. Errors are thrown as `ServiceError` (shared `AwsErrors.*`).
 */
export type RouteResult = object | undefined | void;
export type RouteHandler<Params> = (req: RouteRequest<Params>) => RouteResult | Promise<RouteResult>;

export interface RouteOptions {
  /** AWS operation name, for logs (e.g. `CreateThing`). */
  readonly operation?: string;
  /** `'json'` (default): parse a non-empty body as JSON (400 on malformed JSON). `'raw'`: never parse. */
  readonly body?: 'json' | 'raw';
  /** `'sigv4'` (default) or `'none'` (public, e.g. GET /health). */
  readonly auth?: 'sigv4' | 'none';
}

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  readonly options: RouteOptions;
  readonly handler: RouteHandler<Record<string, string>>;
}

/** A room's routes, built by `defineRoutes`; handed to `createApi({ routes })`. */
export interface RouteModule {
  readonly name: string;
  readonly routes: readonly RouteDefinition[];
}

export interface RouteBuilder {
  get<P extends string>(path: P, handler: RouteHandler<ParamsOf<P>>, options?: RouteOptions): void;
  post<P extends string>(path: P, handler: RouteHandler<ParamsOf<P>>, options?: RouteOptions): void;
  put<P extends string>(path: P, handler: RouteHandler<ParamsOf<P>>, options?: RouteOptions): void;
  patch<P extends string>(path: P, handler: RouteHandler<ParamsOf<P>>, options?: RouteOptions): void;
  delete<P extends string>(path: P, handler: RouteHandler<ParamsOf<P>>, options?: RouteOptions): void;
}

/**
 * Builds a route module. Paths are templates: literal segments, `:name` (one segment) and a final
 * `:name+` (greedy). Templates are checked here, so a typo fails at startup, not at request time.
 */
export function defineRoutes(name: string, build: (r: RouteBuilder) => void): RouteModule {
  const routes: RouteDefinition[] = [];
  const add =
    (method: HttpMethod) =>
    <P extends string>(path: P, handler: RouteHandler<ParamsOf<P>>, options: RouteOptions = {}): void => {
      compileTemplate(path); // throws on a bad template
      routes.push({ method, path, options, handler: handler as unknown as RouteHandler<Record<string, string>> });
    };
  build({ get: add('GET'), post: add('POST'), put: add('PUT'), patch: add('PATCH'), delete: add('DELETE') });
  return { name, routes };
}

type Segment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'greedy'; readonly name: string };

/** Literal 0 < param 1 < greedy 2: lower is more specific. */
const rank = { literal: 0, param: 1, greedy: 2 } as const;

export function compileTemplate(path: string): readonly Segment[] {
  if (!path.startsWith('/')) throw new Error(`route path must start with '/': ${path}`);
  const parts = path === '/' ? [] : path.slice(1).split('/');
  const names = new Set<string>();
  return parts.map((part, i): Segment => {
    if (part === '') throw new Error(`empty segment in route path: ${path}`);
    if (!part.startsWith(':')) return { kind: 'literal', text: part };
    const greedy = part.endsWith('+');
    const name = part.slice(1, greedy ? -1 : undefined);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad parameter name in route path: ${path}`);
    if (names.has(name)) throw new Error(`duplicate parameter '${name}' in route path: ${path}`);
    names.add(name);
    if (greedy && i !== parts.length - 1) throw new Error(`a greedy parameter must be the last segment: ${path}`);
    return greedy ? { kind: 'greedy', name } : { kind: 'param', name };
  });
}

interface CompiledRoute {
  readonly definition: RouteDefinition;
  readonly module: string;
  readonly segments: readonly Segment[];
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: RouteDefinition; readonly module: string; readonly params: Record<string, string> }
  /** The path exists with other methods. */
  | { readonly kind: 'method-not-allowed'; readonly allowed: readonly HttpMethod[] }
  | { readonly kind: 'not-found' }
  /** A path segment has a malformed %-escape (and no route could be chosen without decoding it). */
  | { readonly kind: 'bad-encoding' }
  /**
   * The raw path has an empty, `.` or `..` segment (a trailing `/` aside). Clients remove those
   * before signing (sigv4.ts `normalizePath`), so routing such a path would let a captured
   * signature be replayed onto another label (`/topics/x/../a` signs as `/topics/a`).
   */
  | { readonly kind: 'bad-path' };

/** All routes of all modules, matched on the raw path. Duplicate (method, template shape) throws. */
export class RouteTable {
  /** Routes keyed by their first segment when literal; `''` holds those starting with a parameter. */
  private readonly byFirst = new Map<string, CompiledRoute[]>();

  constructor(modules: readonly RouteModule[]) {
    const seen = new Map<string, string>();
    for (const module of modules) {
      for (const definition of module.routes) {
        const segments = compileTemplate(definition.path);
        const shape = `${definition.method} /${segments.map((s) => (s.kind === 'literal' ? s.text : s.kind === 'param' ? ':' : ':+')).join('/')}`;
        const previous = seen.get(shape);
        if (previous !== undefined) {
          throw new Error(`route ${definition.method} ${definition.path} (${module.name}) collides with ${previous}`);
        }
        seen.set(shape, `${definition.method} ${definition.path} (${module.name})`);
        const first = segments[0];
        const key = first?.kind === 'literal' ? first.text : '';
        const list = this.byFirst.get(key) ?? [];
        list.push({ definition, module: module.name, segments });
        this.byFirst.set(key, list);
      }
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => compareSpecificity(a.segments, b.segments));
  }

  /** `rawPath` is the path as received (percent-encoded, no query). */
  match(method: string, rawPath: string): RouteMatch {
    const rawSegments = rawPath === '/' || rawPath === '' ? [] : rawPath.replace(/^\//, '').split('/');
    if (!rawPath.startsWith('/') && rawPath !== '') return { kind: 'not-found' };
    if (rawSegments.some((s, i) => s === '.' || s === '..' || (s === '' && i < rawSegments.length - 1))) return { kind: 'bad-path' };
    const decoded = rawSegments.map(safeDecode);
    const firstDecoded = decoded[0];
    const candidates = [...(firstDecoded === undefined ? [] : (this.byFirst.get(firstDecoded) ?? [])), ...(this.byFirst.get('') ?? [])];
    const allowed: HttpMethod[] = [];
    let badEncoding = decoded.includes(undefined);
    for (const route of candidates) {
      const params = matchSegments(route.segments, rawSegments, decoded);
      if (params === 'bad-encoding') {
        badEncoding = true;
        continue;
      }
      if (params === undefined) continue;
      if (route.definition.method === method || (method === 'HEAD' && route.definition.method === 'GET')) {
        return { kind: 'found', route: route.definition, module: route.module, params };
      }
      if (!allowed.includes(route.definition.method)) allowed.push(route.definition.method);
    }
    if (allowed.length > 0) return { kind: 'method-not-allowed', allowed };
    return badEncoding ? { kind: 'bad-encoding' } : { kind: 'not-found' };
  }
}

function compareSpecificity(a: readonly Segment[], b: readonly Segment[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = rank[a[i]!.kind] - rank[b[i]!.kind];
    if (d !== 0) return d;
  }
  return b.length - a.length;
}

/**
 * Params when the template matches. One trailing empty segment (`/things/`) is ignored except by a
 * greedy parameter; a `:param` never matches an empty segment.
 */
function matchSegments(
  template: readonly Segment[],
  raw: readonly string[],
  decoded: ReadonlyArray<string | undefined>,
): Record<string, string> | undefined | 'bad-encoding' {
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const segment = template[i]!;
    if (segment.kind === 'greedy') {
      if (i >= raw.length) return undefined;
      const rest = decoded.slice(i);
      if (rest.includes(undefined)) return 'bad-encoding';
      const value = rest.join('/');
      if (value === '') return undefined;
      params[segment.name] = value;
      return params;
    }
    if (i >= raw.length) return undefined;
    const value = decoded[i];
    if (value === undefined) return segment.kind === 'literal' ? undefined : 'bad-encoding';
    if (segment.kind === 'literal') {
      if (value !== segment.text) return undefined;
    } else {
      if (value === '') return undefined;
      params[segment.name] = value;
    }
  }
  const extra = raw.length - template.length;
  if (extra === 0 || (extra === 1 && raw[raw.length - 1] === '')) return params;
  return undefined;
}
