/**
 * The shadow document model (spec/shadow.md sections 3–6): pure functions from a stored document
 * and a request to the new document and the exact reply payloads. No I/O, no clock (the caller
 * passes `nowSec`), no versions store (the caller passes the version a new shadow starts from).
 *
 * A document is `{state: {desired?, reported?}, metadata: {desired?, reported?}, version}`.
 * Metadata mirrors state: every leaf becomes `{"timestamp": <epoch seconds>}`, objects map key by
 * key, arrays element by element (spec/shadow.md 3). It is always walked alongside the state it
 * describes, never on its own, because `{"timestamp": 5}` in state and a leaf's metadata look alike.
 *
 * Update (spec/shadow.md 5.1): a deep merge per section. `null` deletes a key (or a whole section,
 * or with `"state": null` both); an object merges into an object; anything else (scalars, arrays,
 * an object over a scalar) replaces. A new subtree drops its nulls, and a subtree made only of nulls
 * is not created (nothing changes there). A section left empty is removed; an emptied intermediate
 * object stays `{}` (spec/shadow.md 5.1, Greengrass). Each path the request names gets the update's
 * timestamp in metadata, changed or not; the others keep theirs.
 *
 * Delta (spec/shadow.md 5.3), computed on read and never stored: every desired path whose value
 * reported does not have, compared as whole values below the deepest object both sides share.
 * Worked example:
 *
 *   desired  {"color":"green", "lights":{"r":255,"g":255}, "mode":[1,2], "fan":{"on":true}}
 *   reported {"color":"red",   "lights":{"r":255,"g":0},   "mode":[1,2], "fan":1, "extra":7}
 *
 *   color   "green" ≠ "red"                    → delta.color = "green"
 *   lights  both objects: recurse
 *     r     255 = 255                          → left out
 *     g     255 ≠ 0                            → delta.lights.g = 255   (path kept from the root)
 *   mode    arrays are values: [1,2] = [1,2]   → left out
 *   fan     object vs number: types differ     → delta.fan = {"on":true} (whole desired value)
 *   extra   reported only                      → never in a delta
 *
 *   delta    {"color":"green", "lights":{"g":255}, "fan":{"on":true}}
 *   metadata the desired-side metadata of exactly those paths:
 *            {"color":{"timestamp":t1}, "lights":{"g":{"timestamp":t2}}, "fan":{"on":{"timestamp":t3}}}
 *
 * An empty delta is no delta: no `state.delta` in GET, no `/update/delta` message. Cost: one walk
 * of desired, O(size of desired + the matching parts of reported).
 *
 * Validation order of an update request (spec/shadow.md 4; the first failure wins, and every
 * failure after the clientToken check echoes the token): encoding (415) → JSON object → clientToken
 * → version → state node → keys of state → desired → reported → nesting depth → null inside an array
 * → version conflict (409) → resulting size (413).
 */
import { ShadowErrors, type ShadowError } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** desired / reported, each present only when it has content. */
export interface ShadowSections {
  readonly desired?: JsonObject;
  readonly reported?: JsonObject;
}

/** A stored shadow: its state, the metadata mirroring it, and its version. */
export interface ShadowDocument {
  readonly state: ShadowSections;
  readonly metadata: ShadowSections;
  readonly version: number;
}

export interface ShadowLimits {
  /** Bytes of desired + reported JSON after the merge (spec/shadow.md 8; AWS default 8 KB). */
  readonly maxStateBytes: number;
  /** Levels of nesting; desired/reported itself is level 1 (spec/shadow.md 8). */
  readonly maxDepth: number;
  /** UTF-8 bytes of a clientToken (spec/shadow.md 8). */
  readonly maxClientTokenBytes: number;
}

export const defaultShadowLimits: ShadowLimits = { maxStateBytes: 8192, maxDepth: 6, maxClientTokenBytes: 64 };

/** The `state` of an update request: each section present only if the request named it. */
export interface UpdateState {
  readonly desired?: JsonObject | null;
  readonly reported?: JsonObject | null;
}

export interface UpdateRequest {
  /** null: `"state": null`, which clears both sections. */
  readonly state: UpdateState | null;
  readonly version?: number;
  readonly clientToken?: string;
}

/** A refused request, with the clientToken to echo when the request had a valid one. */
export interface Rejection extends ShadowError {
  readonly ok: false;
  readonly clientToken?: string;
}

export interface UpdateOutcome {
  readonly ok: true;
  readonly document: ShadowDocument;
  /** The `/update/accepted` payload (and the HTTP UpdateThingShadow body). */
  readonly accepted: JsonObject;
  /** The `/update/delta` payload; absent when the new document has no delta. */
  readonly delta?: JsonObject;
  /** The `/update/documents` payload. */
  readonly documents: JsonObject;
}

const sectionNames = ['desired', 'reported'] as const;
type SectionName = (typeof sectionNames)[number];

// ─── JSON helpers ──────────────────────────────────────────────────────────────────────────────

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The own member `key` (never one inherited from Object.prototype, such as "constructor"). */
function own(object: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Sets an own member; "__proto__" too, which plain assignment would treat as the prototype. */
function setOwn(object: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}

function cloneJson<T extends JsonValue>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => cloneJson(v)) as T;
  if (isJsonObject(value)) {
    const out: JsonObject = {};
    for (const key of Object.keys(value)) setOwn(out, key, cloneJson(value[key] as JsonValue));
    return out as T;
  }
  return value;
}

/** Deep equality of JSON values; object key order does not matter, array order does. */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] as JsonValue, b[i] as JsonValue)) return false;
    return true;
  }
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const key of keys) {
      const other = own(b, key);
      if (other === undefined || !jsonEqual(a[key] as JsonValue, other)) return false;
    }
    return true;
  }
  return false;
}

/** Metadata mirroring `value`, every leaf (null included) stamped with `timestampSec`. */
export function mirrorMetadata(value: JsonValue, timestampSec: number): JsonValue {
  if (Array.isArray(value)) return value.map((v) => mirrorMetadata(v, timestampSec));
  if (isJsonObject(value)) {
    const out: JsonObject = {};
    for (const key of Object.keys(value)) setOwn(out, key, mirrorMetadata(value[key] as JsonValue, timestampSec));
    return out;
  }
  return { timestamp: timestampSec };
}

/** UTF-8 bytes of desired + reported, as the size limit counts them (metadata excluded). */
export function stateBytes(state: ShadowSections): number {
  let bytes = 0;
  for (const name of sectionNames) {
    const section = state[name];
    if (section !== undefined) bytes += Buffer.byteLength(JSON.stringify(section), 'utf8');
  }
  return bytes;
}

// ─── Request parsing ───────────────────────────────────────────────────────────────────────────

const utf8 = new TextDecoder('utf-8', { fatal: true });

function reject(error: ShadowError, clientToken?: string): Rejection {
  return { ok: false, code: error.code, message: error.message, ...(clientToken === undefined ? {} : { clientToken }) };
}

/** The payload as a JSON value; a Rejection for non-UTF-8 (415) or invalid JSON (400). */
function parseJson(payload: Buffer): { ok: true; value: unknown } | Rejection {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return reject(ShadowErrors.unsupportedEncoding);
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return reject(ShadowErrors.invalidJson);
  }
}

function isValidClientToken(value: unknown, limits: ShadowLimits): value is string {
  return typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= limits.maxClientTokenBytes;
}

/** True when some value sits deeper than `maxDepth`; `value` is at `level`. Stops at the limit. */
function exceedsDepth(value: JsonValue, level: number, maxDepth: number): boolean {
  if (level > maxDepth) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (exceedsDepth(v, level + 1, maxDepth)) return true;
  } else if (isJsonObject(value)) {
    for (const key of Object.keys(value)) if (exceedsDepth(value[key] as JsonValue, level + 1, maxDepth)) return true;
  }
  return false;
}

/** True when an array anywhere in `value` holds a null (spec/shadow.md 4). Call after the depth check. */
function hasNullInArray(value: JsonValue): boolean {
  if (Array.isArray(value)) {
    for (const v of value) if (v === null || hasNullInArray(v)) return true;
  } else if (isJsonObject(value)) {
    for (const key of Object.keys(value)) if (hasNullInArray(value[key] as JsonValue)) return true;
  }
  return false;
}

/**
 * Parses and validates an update request (spec/shadow.md 4) up to what needs no stored document;
 * the version conflict and the size limit are checked by applyUpdate. Top-level keys other than
 * state / version / clientToken are ignored (SDKs send thingName and shadowName).
 */
export function parseUpdateRequest(payload: Buffer, limits: ShadowLimits = defaultShadowLimits): { ok: true; request: UpdateRequest } | Rejection {
  const parsed = parseJson(payload);
  if (!parsed.ok) return parsed;
  const body = parsed.value;
  if (!isJsonObject(body)) return reject(ShadowErrors.invalidJson);

  const token = own(body, 'clientToken');
  if (token !== undefined && !isValidClientToken(token, limits)) return reject(ShadowErrors.invalidClientToken);
  const clientToken = token;

  const version = own(body, 'version');
  if (version !== undefined && !(typeof version === 'number' && Number.isSafeInteger(version) && version >= 0)) {
    return reject(ShadowErrors.invalidVersion, clientToken);
  }

  const state = own(body, 'state');
  if (state === undefined) return reject(ShadowErrors.missingState, clientToken);
  const base = {
    ...(version === undefined ? {} : { version }),
    ...(clientToken === undefined ? {} : { clientToken }),
  };
  if (state === null) return { ok: true, request: { state: null, ...base } };
  if (!isJsonObject(state)) return reject(ShadowErrors.stateNotObject, clientToken);
  for (const key of Object.keys(state)) {
    if (key !== 'desired' && key !== 'reported') return reject(ShadowErrors.invalidNode(key), clientToken);
  }
  const desired = own(state, 'desired');
  if (desired !== undefined && desired !== null && !isJsonObject(desired)) return reject(ShadowErrors.desiredNotObject, clientToken);
  const reported = own(state, 'reported');
  if (reported !== undefined && reported !== null && !isJsonObject(reported)) return reject(ShadowErrors.reportedNotObject, clientToken);
  for (const section of [desired, reported]) {
    if (section !== undefined && section !== null && exceedsDepth(section, 1, limits.maxDepth)) {
      return reject(ShadowErrors.tooDeep(limits.maxDepth), clientToken);
    }
  }
  for (const section of [desired, reported]) {
    if (section !== undefined && section !== null && hasNullInArray(section)) return reject(ShadowErrors.invalidJson, clientToken);
  }
  // In the request's own key order, which the accepted echo keeps.
  const update: { desired?: JsonObject | null; reported?: JsonObject | null } = {};
  for (const key of Object.keys(state)) {
    if (key === 'desired') update.desired = desired as JsonObject | null;
    else update.reported = reported as JsonObject | null;
  }
  return { ok: true, request: { state: update, ...base } };
}

/**
 * The clientToken of a get or delete request (spec/shadow.md 2.2): an empty payload, or any JSON
 * object whose `clientToken`, when it is a string within the limit, is echoed. Every other key
 * (the v1 SDK's `version`, the v2 SDK's thingName) is ignored. Anything else is refused.
 */
export function parseRequestToken(payload: Buffer, limits: ShadowLimits = defaultShadowLimits): { ok: true; clientToken?: string } | Rejection {
  if (payload.length === 0) return { ok: true };
  const parsed = parseJson(payload);
  if (!parsed.ok) return parsed;
  if (!isJsonObject(parsed.value)) return reject(ShadowErrors.invalidJson);
  const token = own(parsed.value, 'clientToken');
  return isValidClientToken(token, limits) ? { ok: true, clientToken: token } : { ok: true };
}

// ─── Update ────────────────────────────────────────────────────────────────────────────────────

/**
 * A new subtree without its nulls; undefined when it had members and none is left (a subtree made
 * only of nulls is not created). `{}` itself stays `{}`.
 */
function dropNulls(value: JsonObject): JsonObject | undefined {
  const out: JsonObject = {};
  let members = 0;
  let kept = 0;
  for (const key of Object.keys(value)) {
    members++;
    const v = value[key] as JsonValue;
    if (v === null) continue;
    if (isJsonObject(v)) {
      const sub = dropNulls(v);
      if (sub === undefined) continue;
      setOwn(out, key, sub);
    } else {
      setOwn(out, key, cloneJson(v));
    }
    kept++;
  }
  return members > 0 && kept === 0 ? undefined : out;
}

/** Merges `patch` into `target` (mutated) and stamps the touched paths of `metadata` (mutated). */
function mergeInto(target: JsonObject, metadata: JsonObject, patch: JsonObject, timestampSec: number): void {
  for (const key of Object.keys(patch)) {
    const value = patch[key] as JsonValue;
    if (value === null) {
      delete target[key];
      delete metadata[key];
      continue;
    }
    const current = own(target, key);
    if (isJsonObject(value)) {
      if (isJsonObject(current)) {
        const existing = own(metadata, key);
        const sub: JsonObject = isJsonObject(existing) ? existing : {};
        setOwn(metadata, key, sub);
        mergeInto(current, sub, value, timestampSec);
      } else {
        const created = dropNulls(value);
        if (created === undefined) continue;
        setOwn(target, key, created);
        setOwn(metadata, key, mirrorMetadata(created, timestampSec));
      }
    } else {
      setOwn(target, key, cloneJson(value));
      setOwn(metadata, key, mirrorMetadata(value, timestampSec));
    }
  }
}

function sectionsOf(state: Partial<Record<SectionName, JsonObject>>): ShadowSections {
  return {
    ...(state.desired === undefined ? {} : { desired: state.desired }),
    ...(state.reported === undefined ? {} : { reported: state.reported }),
  };
}

/**
 * Applies a validated update to the current document (undefined: the shadow does not exist, or was
 * deleted). `baseVersion` is the current version, or for a new shadow the version it continues
 * from: 0, or a recent tombstone's version (spec/shadow.md 5.2, 5.4). The new version is
 * baseVersion + 1.
 */
export function applyUpdate(input: {
  readonly current: ShadowDocument | undefined;
  readonly baseVersion: number;
  readonly request: UpdateRequest;
  readonly nowSec: number;
  readonly limits?: ShadowLimits;
}): UpdateOutcome | Rejection {
  const { current, baseVersion, request, nowSec } = input;
  const limits = input.limits ?? defaultShadowLimits;
  const clientToken = request.clientToken;
  if (request.version !== undefined && request.version !== baseVersion) return reject(ShadowErrors.versionConflict, clientToken);

  const state: Partial<Record<SectionName, JsonObject>> = {};
  const metadata: Partial<Record<SectionName, JsonObject>> = {};
  for (const name of sectionNames) {
    const section = current?.state[name];
    if (section === undefined) continue;
    state[name] = cloneJson(section);
    const meta = current?.metadata[name];
    metadata[name] = meta === undefined ? {} : cloneJson(meta);
  }
  if (request.state !== null) {
    for (const name of sectionNames) {
      if (!Object.hasOwn(request.state, name)) continue;
      const patch = request.state[name];
      if (patch === undefined) continue;
      if (patch === null) {
        delete state[name];
        delete metadata[name];
        continue;
      }
      const target = state[name] ?? {};
      const meta = metadata[name] ?? {};
      mergeInto(target, meta, patch, nowSec);
      if (Object.keys(target).length === 0) {
        delete state[name];
        delete metadata[name];
      } else {
        state[name] = target;
        metadata[name] = meta;
      }
    }
  } else {
    delete state.desired;
    delete state.reported;
    delete metadata.desired;
    delete metadata.reported;
  }

  const document: ShadowDocument = { state: sectionsOf(state), metadata: sectionsOf(metadata), version: baseVersion + 1 };
  if (stateBytes(document.state) > limits.maxStateBytes) return reject(ShadowErrors.tooLarge, clientToken);

  const token = clientToken === undefined ? {} : { clientToken };
  // The echo: the request's state exactly, nulls included; its metadata stamps every leaf (6.1).
  const echo: JsonValue = request.state === null ? null : cloneJson(requestSections(request.state));
  const accepted: JsonObject = {
    state: echo,
    metadata: mirrorMetadata(echo, nowSec),
    version: document.version,
    timestamp: nowSec,
    ...token,
  };
  const documents: JsonObject = {
    previous: current === undefined ? null : snapshot(current),
    current: snapshot(document),
    timestamp: nowSec,
    ...token,
  };
  const delta = deltaOf(document);
  if (delta === undefined) return { ok: true, document, accepted, documents };
  return {
    ok: true,
    document,
    accepted,
    documents,
    delta: { version: document.version, timestamp: nowSec, state: delta.state, metadata: delta.metadata, ...token },
  };
}

/** The request's state as an object holding exactly the sections it named (null ones included). */
function requestSections(state: UpdateState): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(state)) {
    const section = key === 'desired' ? state.desired : key === 'reported' ? state.reported : undefined;
    if (section !== undefined) out[key] = section;
  }
  return out;
}

// ─── Delta ─────────────────────────────────────────────────────────────────────────────────────

/** The delta of desired over reported and its desired-side metadata; undefined when empty. */
export function computeDelta(
  desired: JsonObject | undefined,
  reported: JsonObject | undefined,
  desiredMetadata: JsonObject | undefined,
): { state: JsonObject; metadata: JsonObject } | undefined {
  if (desired === undefined) return undefined;
  const state: JsonObject = {};
  const metadata: JsonObject = {};
  for (const key of Object.keys(desired)) {
    const d = desired[key] as JsonValue;
    const r = reported === undefined ? undefined : own(reported, key);
    const m = desiredMetadata === undefined ? undefined : own(desiredMetadata, key);
    if (r !== undefined && isJsonObject(d) && isJsonObject(r)) {
      const sub = computeDelta(d, r, isJsonObject(m) ? m : undefined);
      if (sub === undefined) continue;
      setOwn(state, key, sub.state);
      setOwn(metadata, key, sub.metadata);
    } else if (r === undefined || !jsonEqual(d, r)) {
      setOwn(state, key, cloneJson(d));
      if (m !== undefined) setOwn(metadata, key, cloneJson(m));
    }
  }
  return Object.keys(state).length === 0 ? undefined : { state, metadata };
}

export function deltaOf(document: ShadowDocument): { state: JsonObject; metadata: JsonObject } | undefined {
  return computeDelta(document.state.desired, document.state.reported, document.metadata.desired);
}

// ─── Reply payloads (spec/shadow.md 6) ─────────────────────────────────────────────────────────

function sectionsJson(sections: ShadowSections): JsonObject {
  const out: JsonObject = {};
  if (sections.desired !== undefined) out['desired'] = sections.desired;
  if (sections.reported !== undefined) out['reported'] = sections.reported;
  return out;
}

/** A `/update/documents` snapshot: full state (no delta), full metadata, version; no timestamp (6.3). */
export function snapshot(document: ShadowDocument): JsonObject {
  return { state: sectionsJson(document.state), metadata: sectionsJson(document.metadata), version: document.version };
}

/** The `/get/accepted` payload and HTTP GetThingShadow body (6.4). */
export function getAccepted(document: ShadowDocument, nowSec: number, clientToken?: string): JsonObject {
  const state = sectionsJson(document.state);
  const delta = deltaOf(document);
  if (delta !== undefined) state['delta'] = delta.state;
  return {
    state,
    metadata: sectionsJson(document.metadata),
    version: document.version,
    timestamp: nowSec,
    ...(clientToken === undefined ? {} : { clientToken }),
  };
}

/** The `/delete/accepted` payload and HTTP DeleteThingShadow body: the deleted document's version (6.5). */
export function deleteAccepted(version: number, nowSec: number, clientToken?: string): JsonObject {
  return { version, timestamp: nowSec, ...(clientToken === undefined ? {} : { clientToken }) };
}

/** A `/…/rejected` payload (6.6): timestamp always included. */
export function rejected(rejection: ShadowError & { readonly clientToken?: string }, nowSec: number): JsonObject {
  return {
    code: rejection.code,
    message: rejection.message,
    timestamp: nowSec,
    ...(rejection.clientToken === undefined ? {} : { clientToken: rejection.clientToken }),
  };
}

// ─── Stored form ───────────────────────────────────────────────────────────────────────────────

/** The JSON text the store keeps for a document (its version lives in the row). */
export function encodeDocument(document: ShadowDocument): string {
  return JSON.stringify({ state: sectionsJson(document.state), metadata: sectionsJson(document.metadata) });
}

/** Reads encodeDocument's text back; throws on anything else (a corrupt row). */
export function decodeDocument(text: string, version: number): ShadowDocument {
  const value = JSON.parse(text) as unknown;
  if (!isJsonObject(value)) throw new Error('a stored shadow document is not a JSON object');
  const state = own(value, 'state');
  const metadata = own(value, 'metadata');
  if (!isJsonObject(state) || !isJsonObject(metadata)) throw new Error('a stored shadow document lacks state or metadata');
  const pick = (o: JsonObject): ShadowSections => {
    const desired = own(o, 'desired');
    const reported = own(o, 'reported');
    return {
      ...(isJsonObject(desired) ? { desired } : {}),
      ...(isJsonObject(reported) ? { reported } : {}),
    };
  };
  return { state: pick(state), metadata: pick(metadata), version };
}
