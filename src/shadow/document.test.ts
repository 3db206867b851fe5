// Proves the shadow document model against spec/shadow.md row by row: validation and its exact codes and messages, merge, metadata, versions, delta, size and depth limits, and the accepted / delta / documents / get / delete / rejected payloads.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  applyUpdate,
  computeDelta,
  decodeDocument,
  deleteAccepted,
  encodeDocument,
  getAccepted,
  mirrorMetadata,
  parseRequestToken,
  parseUpdateRequest,
  rejected,
  defaultShadowLimits,
  type JsonObject,
  type JsonValue,
  type ShadowDocument,
  type ShadowLimits,
  type ShadowSections,
} from './document.js';

/** When the stored document's paths were last written. */
const T0 = 1_600_000_000;
/** Now, for the request under test. */
const T = 1_700_000_000;
const ts = (t = T): JsonObject => ({ timestamp: t });

function meta(sections: ShadowSections, t = T0): ShadowSections {
  const out: { desired?: JsonObject; reported?: JsonObject } = {};
  if (sections.desired !== undefined) out.desired = mirrorMetadata(sections.desired, t) as JsonObject;
  if (sections.reported !== undefined) out.reported = mirrorMetadata(sections.reported, t) as JsonObject;
  return out;
}

/** A stored document whose every path was written at T0. */
function doc(state: ShadowSections, version: number): ShadowDocument {
  return { state, metadata: meta(state), version };
}

interface Accepts {
  /** The new document's state and version. */
  readonly state: ShadowSections;
  readonly version: number;
  readonly metadata?: ShadowSections;
  /** The whole /update/accepted payload. */
  readonly accepted?: JsonObject;
  /** The delta's `state` (null: no /update/delta message). */
  readonly delta?: JsonObject | null;
  /** The whole /update/delta payload. */
  readonly deltaMessage?: JsonObject;
  /** The whole /update/documents payload. */
  readonly documents?: JsonObject;
}

interface Rejects {
  readonly rejected: readonly [number, string];
  /** The clientToken echoed in the rejection. */
  readonly token?: string;
}

interface Row {
  /** The spec/shadow.md section the row checks. */
  readonly spec: string;
  readonly name: string;
  readonly current?: ShadowDocument;
  /** The version a new shadow continues from (a tombstone's); default: current's version or 0. */
  readonly base?: number;
  /** A string or Buffer is the raw payload; anything else is JSON-encoded. */
  readonly request: JsonValue | string | Buffer;
  readonly limits?: Partial<ShadowLimits>;
  readonly expect: Accepts | Rejects;
}

const long = (n: number): string => 'x'.repeat(n);
const nest = (levels: number, leaf: JsonValue = 1): JsonObject => {
  // levels = the level of the leaf value, counting desired/reported as level 1.
  let value: JsonValue = leaf;
  for (let i = levels; i > 2; i--) value = { [`l${i - 1}`]: value };
  return { l1: value };
};

const rows: Row[] = [
  // ── 4. Request validation ──────────────────────────────────────────────────────────────────
  { spec: '4', name: 'not JSON', request: '{"state":', expect: { rejected: [400, 'Invalid JSON'] } },
  { spec: '4', name: 'empty payload', request: '', expect: { rejected: [400, 'Invalid JSON'] } },
  { spec: '4', name: 'a JSON array', request: '[{"state":{}}]', expect: { rejected: [400, 'Invalid JSON'] } },
  { spec: '4', name: 'a JSON number', request: '5', expect: { rejected: [400, 'Invalid JSON'] } },
  { spec: '4', name: 'JSON null', request: 'null', expect: { rejected: [400, 'Invalid JSON'] } },
  { spec: '4', name: 'a JSON string', request: '"state"', expect: { rejected: [400, 'Invalid JSON'] } },
  {
    spec: '4',
    name: 'not UTF-8',
    request: Buffer.concat([Buffer.from('{"state":{"reported":{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}}')]),
    expect: { rejected: [415, 'Unsupported documented encoding; supported encoding is UTF-8'] },
  },
  { spec: '4', name: 'no state node', request: {}, expect: { rejected: [400, 'Missing required node: state'] } },
  { spec: '4', name: 'desired outside state', request: { desired: { a: 1 }, clientToken: 'c' }, expect: { rejected: [400, 'Missing required node: state'], token: 'c' } },
  { spec: '4', name: 'state is a number', request: { state: 5 }, expect: { rejected: [400, 'State node must be an object'] } },
  { spec: '4', name: 'state is an array', request: { state: [] }, expect: { rejected: [400, 'State node must be an object'] } },
  { spec: '4', name: 'state is a string', request: { state: 'on' }, expect: { rejected: [400, 'State node must be an object'] } },
  { spec: '4, 5.3', name: 'state.delta cannot be written', request: { state: { delta: { a: 1 } } }, expect: { rejected: [400, "State contains an invalid node: 'delta'"] } },
  { spec: '4', name: 'an unknown node in state', request: { state: { desired: {}, foo: 1 } }, expect: { rejected: [400, "State contains an invalid node: 'foo'"] } },
  { spec: '4', name: 'desired is a number', request: { state: { desired: 5 } }, expect: { rejected: [400, 'Desired node must be an object'] } },
  { spec: '4', name: 'desired is an array', request: { state: { desired: [1] } }, expect: { rejected: [400, 'Desired node must be an object'] } },
  { spec: '4', name: 'reported is a string', request: { state: { reported: 'on' } }, expect: { rejected: [400, 'Reported node must be an object'] } },
  { spec: '4', name: 'reported is a boolean', request: { state: { desired: {}, reported: true } }, expect: { rejected: [400, 'Reported node must be an object'] } },
  { spec: '4', name: 'negative version', request: { state: {}, version: -1 }, expect: { rejected: [400, 'Invalid version'] } },
  { spec: '4', name: 'fractional version', request: { state: {}, version: 1.5 }, expect: { rejected: [400, 'Invalid version'] } },
  { spec: '4', name: 'version as a string', request: { state: {}, version: '3', clientToken: 'v' }, expect: { rejected: [400, 'Invalid version'], token: 'v' } },
  { spec: '4', name: 'version null', request: { state: {}, version: null }, expect: { rejected: [400, 'Invalid version'] } },
  { spec: '4', name: 'clientToken of 65 bytes (not echoed)', request: { state: {}, clientToken: long(65) }, expect: { rejected: [400, 'Invalid clientToken'] } },
  { spec: '4', name: 'clientToken not a string', request: { state: {}, clientToken: 5 }, expect: { rejected: [400, 'Invalid clientToken'] } },
  { spec: '8', name: 'clientToken limit counts UTF-8 bytes (22 × 3 = 66)', request: { state: {}, clientToken: '€'.repeat(22) }, expect: { rejected: [400, 'Invalid clientToken'] } },
  {
    spec: '8',
    name: 'clientToken of exactly 64 bytes is echoed',
    request: { state: {}, clientToken: long(64) },
    expect: { state: {}, version: 1, accepted: { state: {}, metadata: {}, version: 1, timestamp: T, clientToken: long(64) } },
  },
  { spec: '4', name: 'the first failure wins: version before state', request: { state: 5, version: 'x' }, expect: { rejected: [400, 'Invalid version'] } },
  { spec: '6.6', name: 'a rejection echoes the valid clientToken', request: { clientToken: 't9', state: 5 }, expect: { rejected: [400, 'State node must be an object'], token: 't9' } },
  {
    spec: '8',
    name: 'a value at nesting level 6 is accepted',
    request: { state: { reported: nest(6) } },
    expect: { state: { reported: nest(6) }, version: 1 },
  },
  {
    spec: '8',
    name: 'a value at nesting level 7 is too deep',
    request: { state: { desired: nest(7) }, clientToken: 'd' },
    expect: { rejected: [400, 'JSON contains too many levels of nesting; maximum is 6'], token: 'd' },
  },
  {
    spec: '8',
    name: 'an empty object at level 7 is too deep too',
    request: { state: { reported: nest(7, {}) } },
    expect: { rejected: [400, 'JSON contains too many levels of nesting; maximum is 6'] },
  },
  { spec: '8', name: 'arrays count as levels: leaf at level 6', request: { state: { reported: { a: [[[[1]]]] } } }, expect: { state: { reported: { a: [[[[1]]]] } }, version: 1 } },
  {
    spec: '8',
    name: 'arrays count as levels: leaf at level 7',
    request: { state: { reported: { a: [[[[[1]]]]] } } },
    expect: { rejected: [400, 'JSON contains too many levels of nesting; maximum is 6'] },
  },
  { spec: '8', name: 'the depth limit is configurable', limits: { maxDepth: 8 }, request: { state: { desired: nest(8) } }, expect: { state: { desired: nest(8) }, version: 1 } },
  {
    spec: '8',
    name: 'a configured depth limit is named in the message',
    limits: { maxDepth: 3 },
    request: { state: { desired: nest(4) } },
    expect: { rejected: [400, 'JSON contains too many levels of nesting; maximum is 3'] },
  },
  { spec: '4', name: 'null inside an array', request: { state: { reported: { a: [1, null] } }, clientToken: 'n' }, expect: { rejected: [400, 'Invalid JSON'], token: 'n' } },
  { spec: '4', name: 'null inside an array inside an object inside an array', request: { state: { desired: { a: [{ b: [null] }] } } }, expect: { rejected: [400, 'Invalid JSON'] } },

  // ── 4 / 5.1 Accepted request shapes ────────────────────────────────────────────────────────
  {
    spec: '4',
    name: '"state": null clears both sections, keeps the shadow and bumps the version',
    current: doc({ desired: { a: 1 }, reported: { b: 2 } }, 4),
    request: { state: null },
    expect: {
      state: {},
      version: 5,
      metadata: {},
      accepted: { state: null, metadata: { timestamp: T }, version: 5, timestamp: T },
      delta: null,
    },
  },
  {
    spec: '4',
    name: '"state": {} is a no-op change that still bumps the version',
    current: doc({ reported: { b: 2 } }, 2),
    request: { state: {} },
    expect: { state: { reported: { b: 2 } }, version: 3, metadata: meta({ reported: { b: 2 } }) },
  },
  {
    spec: '4, 5.4',
    name: '"state": {} creates an empty shadow at version 1',
    request: { state: {} },
    expect: { state: {}, version: 1, documents: { previous: null, current: { state: {}, metadata: {}, version: 1 }, timestamp: T } },
  },
  {
    spec: '10.2',
    name: 'top-level keys other than state/version/clientToken are ignored',
    request: { state: { reported: { a: 1 } }, thingName: 't', shadowName: 's', extra: [null] },
    expect: { state: { reported: { a: 1 } }, version: 1 },
  },

  // ── 5.1 Merge and 3 Metadata ───────────────────────────────────────────────────────────────
  {
    spec: '5.1, 3',
    name: 'first update creates the shadow at version 1 with per-leaf metadata',
    request: { state: { reported: { color: 'red', n: 1.5, on: true } } },
    expect: {
      state: { reported: { color: 'red', n: 1.5, on: true } },
      version: 1,
      metadata: { reported: { color: ts(), n: ts(), on: ts() } },
      delta: null,
    },
  },
  {
    spec: '5.1, 3',
    name: 'only the keys named change; untouched paths keep their timestamps',
    current: doc({ reported: { a: 1, b: 2 } }, 1),
    request: { state: { reported: { b: 3 } } },
    expect: { state: { reported: { a: 1, b: 3 } }, version: 2, metadata: { reported: { a: ts(T0), b: ts() } } },
  },
  {
    spec: '5.1',
    name: 'the other section is untouched',
    current: doc({ desired: { x: 1 }, reported: { y: 1 } }, 3),
    request: { state: { reported: { y: 2 } } },
    expect: { state: { desired: { x: 1 }, reported: { y: 2 } }, version: 4, metadata: { desired: { x: ts(T0) }, reported: { y: ts() } } },
  },
  {
    spec: '5.1',
    name: 'objects merge deeply',
    current: doc({ desired: { lights: { r: 1, g: 2 } } }, 1),
    request: { state: { desired: { lights: { g: 3 } } } },
    expect: { state: { desired: { lights: { r: 1, g: 3 } } }, version: 2, metadata: { desired: { lights: { r: ts(T0), g: ts() } } } },
  },
  {
    spec: '5.1, 3',
    name: 'arrays replace whole; metadata mirrors each element',
    current: doc({ reported: { list: [1, 2, 3] } }, 1),
    request: { state: { reported: { list: [4] } } },
    expect: { state: { reported: { list: [4] } }, version: 2, metadata: { reported: { list: [ts()] } } },
  },
  {
    spec: '3',
    name: 'objects inside arrays are mirrored recursively',
    request: { state: { reported: { a: [{ b: 1, c: [true] }, 'x'] } } },
    expect: { state: { reported: { a: [{ b: 1, c: [true] }, 'x'] } }, version: 1, metadata: { reported: { a: [{ b: ts(), c: [ts()] }, ts()] } } },
  },
  {
    spec: '5.1, 3',
    name: 'null deletes a key and its metadata',
    current: doc({ reported: { a: 1, b: 2 } }, 1),
    request: { state: { reported: { a: null } } },
    expect: { state: { reported: { b: 2 } }, version: 2, metadata: { reported: { b: ts(T0) } } },
  },
  {
    spec: '5.1',
    name: 'an emptied intermediate object stays {}',
    current: doc({ desired: { a: { b: 1 }, z: 0 } }, 1),
    request: { state: { desired: { a: { b: null } } } },
    expect: { state: { desired: { a: {}, z: 0 } }, version: 2, metadata: { desired: { a: {}, z: ts(T0) } } },
  },
  {
    spec: '5.1',
    name: 'a section left empty is removed',
    current: doc({ reported: { a: 1 }, desired: { d: 1 } }, 1),
    request: { state: { reported: { a: null } } },
    expect: { state: { desired: { d: 1 } }, version: 2, metadata: { desired: { d: ts(T0) } } },
  },
  {
    spec: '5.1',
    name: '"desired": null removes the whole section',
    current: doc({ desired: { a: 1 }, reported: { b: 1 } }, 7),
    request: { state: { desired: null } },
    expect: { state: { reported: { b: 1 } }, version: 8, delta: null },
  },
  {
    spec: '5.1',
    name: 'deleting a key that does not exist changes nothing but the version',
    current: doc({ reported: { a: 1 } }, 1),
    request: { state: { reported: { zz: null } } },
    expect: { state: { reported: { a: 1 } }, version: 2, metadata: meta({ reported: { a: 1 } }) },
  },
  {
    spec: '3',
    name: 'scalar to object replaces the metadata subtree',
    current: doc({ reported: { a: 1 } }, 1),
    request: { state: { reported: { a: { b: 2 } } } },
    expect: { state: { reported: { a: { b: 2 } } }, version: 2, metadata: { reported: { a: { b: ts() } } } },
  },
  {
    spec: '3',
    name: 'object to scalar replaces the metadata subtree',
    current: doc({ reported: { a: { b: 2, c: 3 } } }, 1),
    request: { state: { reported: { a: 5 } } },
    expect: { state: { reported: { a: 5 } }, version: 2, metadata: { reported: { a: ts() } } },
  },
  {
    spec: '5.1',
    name: 'object to array replaces',
    current: doc({ desired: { a: { b: 2 } } }, 1),
    request: { state: { desired: { a: [1, { b: 2 }] } } },
    expect: { state: { desired: { a: [1, { b: 2 }] } }, version: 2, metadata: { desired: { a: [ts(), { b: ts() }] } } },
  },
  {
    spec: '5.1',
    name: 'a new subtree drops its nulls',
    request: { state: { reported: { a: { b: null, c: 1, d: { e: null } } } } },
    expect: { state: { reported: { a: { c: 1 } } }, version: 1, metadata: { reported: { a: { c: ts() } } } },
  },
  {
    spec: '5.1',
    name: 'a new subtree made only of nulls is not created',
    current: doc({ reported: { x: 1 } }, 1),
    request: { state: { reported: { a: { b: null } } } },
    expect: { state: { reported: { x: 1 } }, version: 2 },
  },
  {
    spec: '5.1',
    name: 'a new empty object is stored as {}',
    request: { state: { desired: { a: {} } } },
    expect: { state: { desired: { a: {} } }, version: 1, metadata: { desired: { a: {} } }, delta: { a: {} } },
  },
  {
    spec: '3',
    name: 're-sending the same value refreshes its timestamp',
    current: doc({ reported: { a: 1, b: 1 } }, 1),
    request: { state: { reported: { a: 1 } } },
    expect: { state: { reported: { a: 1, b: 1 } }, version: 2, metadata: { reported: { a: ts(), b: ts(T0) } } },
  },
  {
    spec: '5.1',
    name: 'Object.prototype names are plain keys (__proto__, constructor)',
    current: doc({ desired: { constructor: 1 } }, 1),
    request: '{"state":{"reported":{"__proto__":{"x":1},"constructor":1,"toString":null}}}',
    expect: {
      state: JSON.parse('{"desired":{"constructor":1},"reported":{"__proto__":{"x":1},"constructor":1}}') as ShadowSections,
      version: 2,
      delta: null,
    },
  },

  // ── 5.2 Versions and optimistic locking ────────────────────────────────────────────────────
  { spec: '5.2', name: 'matching version is accepted and incremented', current: doc({ reported: { a: 1 } }, 10), request: { state: { reported: { a: 2 } }, version: 10 }, expect: { state: { reported: { a: 2 } }, version: 11 } },
  { spec: '5.2', name: 'older version conflicts', current: doc({ reported: { a: 1 } }, 10), request: { state: { reported: { a: 2 } }, version: 9, clientToken: 'k' }, expect: { rejected: [409, 'Version conflict'], token: 'k' } },
  { spec: '5.2', name: 'newer version conflicts', current: doc({}, 10), request: { state: {}, version: 11 }, expect: { rejected: [409, 'Version conflict'] } },
  { spec: '5.2', name: 'a new shadow accepts version 0', request: { state: { reported: { a: 1 } }, version: 0 }, expect: { state: { reported: { a: 1 } }, version: 1 } },
  { spec: '5.2', name: 'a new shadow refuses version 1', request: { state: { reported: { a: 1 } }, version: 1 }, expect: { rejected: [409, 'Version conflict'] } },
  {
    spec: '5.4',
    name: 're-created after a recent delete: the version continues and previous is null',
    base: 5,
    request: { state: { reported: { a: 1 } } },
    expect: { state: { reported: { a: 1 } }, version: 6, documents: { previous: null, current: { state: { reported: { a: 1 } }, metadata: { reported: { a: ts() } }, version: 6 }, timestamp: T } },
  },
  { spec: '5.2, 5.4', name: 're-created after a delete: version = the tombstone version', base: 5, request: { state: {}, version: 5 }, expect: { state: {}, version: 6 } },
  { spec: '5.2, 5.4', name: 're-created after a delete: version 0 conflicts', base: 5, request: { state: {}, version: 0 }, expect: { rejected: [409, 'Version conflict'] } },

  // ── 5.3 Delta ──────────────────────────────────────────────────────────────────────────────
  {
    spec: '5.3, 6.2',
    name: 'desired-only keys are in the delta, with their desired metadata',
    request: { state: { desired: { color: 'green' } }, clientToken: 'dt' },
    expect: {
      state: { desired: { color: 'green' } },
      version: 1,
      deltaMessage: { version: 1, timestamp: T, state: { color: 'green' }, metadata: { color: ts() }, clientToken: 'dt' },
    },
  },
  { spec: '5.3', name: 'desired equal to reported: no delta', current: doc({ reported: { a: 1 } }, 1), request: { state: { desired: { a: 1 } } }, expect: { state: { desired: { a: 1 }, reported: { a: 1 } }, version: 2, delta: null } },
  {
    spec: '5.3',
    name: 'a reported-only update that leaves a difference still produces the full delta',
    current: doc({ desired: { a: 1, b: 2 }, reported: { a: 0, b: 0 } }, 3),
    request: { state: { reported: { a: 1 } } },
    expect: { state: { desired: { a: 1, b: 2 }, reported: { a: 1, b: 0 } }, version: 4, delta: { b: 2 } },
  },
  {
    spec: '5.3',
    name: 'reported catching up removes the delta but never clears desired',
    current: doc({ desired: { a: 1 }, reported: { a: 0 } }, 3),
    request: { state: { reported: { a: 1 } } },
    expect: { state: { desired: { a: 1 }, reported: { a: 1 } }, version: 4, delta: null },
  },
  {
    spec: '5.3',
    name: 'reported-only keys never appear in the delta',
    current: doc({ desired: { a: 1 } }, 1),
    request: { state: { reported: { a: 0, extra: 7 } } },
    expect: { state: { desired: { a: 1 }, reported: { a: 0, extra: 7 } }, version: 2, delta: { a: 1 } },
  },
  {
    spec: '5.3, 6.2',
    name: 'the header worked example: nested paths kept to the root, arrays whole, type mismatch whole',
    current: doc({ reported: { color: 'red', lights: { r: 255, g: 0 }, mode: [1, 2], fan: 1, extra: 7 } }, 1),
    request: { state: { desired: { color: 'green', lights: { r: 255, g: 255 }, mode: [1, 2], fan: { on: true } } } },
    expect: {
      state: {
        desired: { color: 'green', lights: { r: 255, g: 255 }, mode: [1, 2], fan: { on: true } },
        reported: { color: 'red', lights: { r: 255, g: 0 }, mode: [1, 2], fan: 1, extra: 7 },
      },
      version: 2,
      deltaMessage: {
        version: 2,
        timestamp: T,
        state: { color: 'green', lights: { g: 255 }, fan: { on: true } },
        metadata: { color: ts(), lights: { g: ts() }, fan: { on: ts() } },
      },
    },
  },
  { spec: '5.3', name: 'equal arrays: no delta', current: doc({ reported: { a: [1, 2] } }, 1), request: { state: { desired: { a: [1, 2] } } }, expect: { state: { desired: { a: [1, 2] }, reported: { a: [1, 2] } }, version: 2, delta: null } },
  {
    spec: '5.3, 6.2',
    name: 'arrays in another order differ; delta metadata is the whole array metadata',
    current: doc({ reported: { a: [1, 2] } }, 1),
    request: { state: { desired: { a: [2, 1] } } },
    expect: { state: { desired: { a: [2, 1] }, reported: { a: [1, 2] } }, version: 2, deltaMessage: { version: 2, timestamp: T, state: { a: [2, 1] }, metadata: { a: [ts(), ts()] } } },
  },
  { spec: '5.3', name: 'objects compare regardless of key order', current: doc({ reported: { a: [{ x: 1, y: 2 }] } }, 1), request: '{"state":{"desired":{"a":[{"y":2,"x":1}]}}}', expect: { state: { desired: { a: [{ y: 2, x: 1 }] }, reported: { a: [{ x: 1, y: 2 }] } }, version: 2, delta: null } },
  { spec: '5.3', name: 'numbers compare by value (1.0 = 1)', current: doc({ reported: { a: 1 } }, 1), request: '{"state":{"desired":{"a":1.0}}}', expect: { state: { desired: { a: 1 }, reported: { a: 1 } }, version: 2, delta: null } },
  { spec: '5.3', name: 'type mismatch is a difference ("1" vs 1)', current: doc({ reported: { a: 1 } }, 1), request: { state: { desired: { a: '1' } } }, expect: { state: { desired: { a: '1' }, reported: { a: 1 } }, version: 2, delta: { a: '1' } } },
  { spec: '5.3', name: 'false vs absent is a difference', current: doc({}, 1), request: { state: { desired: { on: false } } }, expect: { state: { desired: { on: false } }, version: 2, delta: { on: false } } },

  // ── 5.1 / 8 Size ───────────────────────────────────────────────────────────────────────────
  {
    spec: '8',
    name: 'state exactly at the size limit is accepted',
    limits: { maxStateBytes: 18 },
    request: { state: { reported: { a: long(10) } } }, // {"a":"xxxxxxxxxx"} = 18 bytes
    expect: { state: { reported: { a: long(10) } }, version: 1 },
  },
  {
    spec: '8',
    name: 'one byte over the limit is 413',
    limits: { maxStateBytes: 18 },
    request: { state: { reported: { a: long(11) } }, clientToken: 's' },
    expect: { rejected: [413, 'The payload exceeds the maximum size allowed'], token: 's' },
  },
  {
    spec: '5.1, 8',
    name: 'desired and reported count together, after the merge',
    limits: { maxStateBytes: 30 },
    current: doc({ desired: { a: long(10) } }, 1), // 18 bytes
    request: { state: { reported: { b: long(5) } } }, // + 13 bytes = 31
    expect: { rejected: [413, 'The payload exceeds the maximum size allowed'] },
  },
  {
    spec: '5.1, 8',
    name: 'a tiny request is refused when the stored document is near the limit',
    limits: { maxStateBytes: 20 },
    current: doc({ reported: { a: long(10) } }, 4),
    request: { state: { reported: { b: 1 } } },
    expect: { rejected: [413, 'The payload exceeds the maximum size allowed'] },
  },
  {
    spec: '8',
    name: 'a request that shrinks an oversized document is accepted',
    limits: { maxStateBytes: 20 },
    current: doc({ reported: { a: long(30) } }, 4),
    request: { state: { reported: { a: null } } },
    expect: { state: {}, version: 5 },
  },
  {
    spec: '3, 8',
    name: 'metadata does not count toward the size',
    limits: { maxStateBytes: 50 },
    request: { state: { reported: { a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8] } } },
    expect: { state: { reported: { a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8] } }, version: 1 },
  },
  {
    spec: '8',
    name: 'the size counts UTF-8 bytes',
    limits: { maxStateBytes: 18 },
    request: { state: { reported: { a: 'é'.repeat(6) } } }, // {"a":"…"} = 8 + 12
    expect: { rejected: [413, 'The payload exceeds the maximum size allowed'] },
  },

  // ── 6.1 Accepted / 6.3 Documents ───────────────────────────────────────────────────────────
  {
    spec: '6.1',
    name: 'the accepted echo keeps nulls and stamps each of them (the spec example)',
    current: doc({ desired: { color: 'red' }, reported: { color: 'red' } }, 2),
    request: { state: { reported: { color: 'green' }, desired: null }, clientToken: 't1' },
    expect: {
      state: { reported: { color: 'green' } },
      version: 3,
      accepted: {
        state: { reported: { color: 'green' }, desired: null },
        metadata: { reported: { color: ts() }, desired: ts() },
        version: 3,
        timestamp: T,
        clientToken: 't1',
      },
    },
  },
  {
    spec: '6.1',
    name: 'accepted holds only what was sent: no untouched keys, no delta',
    current: doc({ desired: { a: 1, b: 2 }, reported: { a: 0 } }, 1),
    request: { state: { reported: { a: { x: null, y: [1] } } } },
    expect: {
      state: { desired: { a: 1, b: 2 }, reported: { a: { y: [1] } } },
      version: 2,
      accepted: { state: { reported: { a: { x: null, y: [1] } } }, metadata: { reported: { a: { x: ts(), y: [ts()] } } }, version: 2, timestamp: T },
    },
  },
  {
    spec: '6.3',
    name: 'documents: previous and current full state and metadata, no delta, token',
    current: doc({ desired: { a: 1 }, reported: { a: 0, id: 'x' } }, 4),
    request: { state: { reported: { a: 1 } }, clientToken: 'doc' },
    expect: {
      state: { desired: { a: 1 }, reported: { a: 1, id: 'x' } },
      version: 5,
      delta: null,
      documents: {
        previous: {
          state: { desired: { a: 1 }, reported: { a: 0, id: 'x' } },
          metadata: { desired: { a: ts(T0) }, reported: { a: ts(T0), id: ts(T0) } },
          version: 4,
        },
        current: {
          state: { desired: { a: 1 }, reported: { a: 1, id: 'x' } },
          metadata: { desired: { a: ts(T0) }, reported: { a: ts(), id: ts(T0) } },
          version: 5,
        },
        timestamp: T,
        clientToken: 'doc',
      },
    },
  },
];

function payloadOf(request: Row['request']): Buffer {
  if (Buffer.isBuffer(request)) return request;
  return Buffer.from(typeof request === 'string' ? request : JSON.stringify(request));
}

describe('shadow document model: update table (spec/shadow.md)', () => {
  it('has at least 60 rows, each naming its spec section', () => {
    assert.ok(rows.length >= 60, `${rows.length} rows`);
    for (const row of rows) assert.match(row.spec, /^\d/, row.name);
  });

  for (const row of rows) {
    it(`§${row.spec} ${row.name}`, () => {
      const limits: ShadowLimits = { ...defaultShadowLimits, ...row.limits };
      const parsed = parseUpdateRequest(payloadOf(row.request), limits);
      const outcome = parsed.ok
        ? applyUpdate({ current: row.current, baseVersion: row.base ?? row.current?.version ?? 0, request: parsed.request, nowSec: T, limits })
        : parsed;
      const expect = row.expect;
      if ('rejected' in expect) {
        assert.equal(outcome.ok, false, 'expected a rejection');
        if (outcome.ok) return;
        assert.deepEqual([outcome.code, outcome.message], [...expect.rejected]);
        assert.equal(outcome.clientToken, expect.token);
        return;
      }
      if (!outcome.ok) assert.fail(`rejected: ${outcome.code} ${outcome.message}`);
      assert.deepEqual(outcome.document.state, expect.state);
      assert.equal(outcome.document.version, expect.version);
      if (expect.metadata !== undefined) assert.deepEqual(outcome.document.metadata, expect.metadata);
      if (expect.accepted !== undefined) assert.deepEqual(outcome.accepted, expect.accepted);
      if (expect.delta === null) assert.equal(outcome.delta, undefined, 'no delta expected');
      else if (expect.delta !== undefined) assert.deepEqual(outcome.delta?.['state'], expect.delta);
      if (expect.deltaMessage !== undefined) assert.deepEqual(outcome.delta, expect.deltaMessage);
      if (expect.documents !== undefined) assert.deepEqual(outcome.documents, expect.documents);
      // Invariants of every accepted update.
      assert.equal(outcome.accepted['version'], expect.version);
      assert.equal(outcome.accepted['timestamp'], T);
      assert.equal((outcome.documents['current'] as JsonObject)['version'], expect.version);
      assert.equal(outcome.documents['previous'] === null, row.current === undefined);
      assert.deepEqual(decodeDocument(encodeDocument(outcome.document), outcome.document.version), outcome.document, 'stored form round-trips');
    });
  }
});

describe('shadow document model: get / delete / rejected payloads (spec/shadow.md 2.2, 6)', () => {
  const tokenRows: Array<[string, string | Buffer, { clientToken?: string } | readonly [number, string]]> = [
    ['empty payload: no token', '', {}],
    ['{"clientToken"} is echoed', '{"clientToken":"abc"}', { clientToken: 'abc' }],
    ['the v1 SDK version and the v2 SDK names are ignored', '{"clientToken":"c-1","version":7,"thingName":"t","shadowName":"s"}', { clientToken: 'c-1' }],
    ['a JSON object without a token', '{}', {}],
    ['a non-string token is ignored', '{"clientToken":5}', {}],
    ['an over-long token is ignored', `{"clientToken":"${long(65)}"}`, {}],
    ['not JSON', 'hello', [400, 'Invalid JSON']],
    ['a JSON array', '[1]', [400, 'Invalid JSON']],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), [415, 'Unsupported documented encoding; supported encoding is UTF-8']],
  ];
  for (const [name, payload, expected] of tokenRows) {
    it(`§2.2 ${name}`, () => {
      const parsed = parseRequestToken(Buffer.isBuffer(payload) ? payload : Buffer.from(payload));
      if (Array.isArray(expected)) {
        assert.equal(parsed.ok, false);
        if (!parsed.ok) assert.deepEqual([parsed.code, parsed.message], [...expected]);
      } else {
        assert.deepEqual(parsed, { ok: true, ...expected });
      }
    });
  }

  it('§6.4 get: state with delta when desired and reported differ, metadata without delta', () => {
    const d = doc({ desired: { color: 'green', lights: { r: 255, g: 255 } }, reported: { color: 'red', lights: { r: 255, g: 0 } } }, 7);
    assert.deepEqual(getAccepted(d, T, 'abc'), {
      state: {
        desired: { color: 'green', lights: { r: 255, g: 255 } },
        reported: { color: 'red', lights: { r: 255, g: 0 } },
        delta: { color: 'green', lights: { g: 255 } },
      },
      metadata: meta(d.state),
      version: 7,
      timestamp: T,
      clientToken: 'abc',
    });
  });

  it('§6.4 get: no delta key when in sync; "state": {} for a shadow with neither section', () => {
    assert.deepEqual(getAccepted(doc({ desired: { a: 1 }, reported: { a: 1 } }, 2), T), {
      state: { desired: { a: 1 }, reported: { a: 1 } },
      metadata: meta({ desired: { a: 1 }, reported: { a: 1 } }),
      version: 2,
      timestamp: T,
    });
    assert.deepEqual(getAccepted(doc({}, 3), T), { state: {}, metadata: {}, version: 3, timestamp: T });
  });

  it('§6.5 delete: the deleted version and the token', () => {
    assert.deepEqual(deleteAccepted(4, T, 'x'), { version: 4, timestamp: T, clientToken: 'x' });
    assert.deepEqual(deleteAccepted(4, T), { version: 4, timestamp: T });
  });

  it('§6.6 rejected: code, message, timestamp, token (and field order)', () => {
    const body = rejected({ code: 409, message: 'Version conflict', clientToken: 't3' }, T);
    assert.equal(JSON.stringify(body), `{"code":409,"message":"Version conflict","timestamp":${T},"clientToken":"t3"}`);
    assert.equal(JSON.stringify(rejected({ code: 404, message: "No shadow exists with name: 'x'" }, T)), `{"code":404,"message":"No shadow exists with name: 'x'","timestamp":${T}}`);
  });

  it('§6.1 field order of the accepted payload follows the request', () => {
    const parsed = parseUpdateRequest(Buffer.from('{"clientToken":"t1","state":{"reported":{"color":"green"},"desired":null}}'));
    assert.ok(parsed.ok);
    const out = applyUpdate({ current: undefined, baseVersion: 2, request: parsed.request, nowSec: T });
    assert.ok(out.ok);
    assert.equal(
      JSON.stringify(out.accepted),
      `{"state":{"reported":{"color":"green"},"desired":null},"metadata":{"reported":{"color":{"timestamp":${T}}},"desired":{"timestamp":${T}}},"version":3,"timestamp":${T},"clientToken":"t1"}`,
    );
  });

  it('§5.3 computeDelta: nothing without desired', () => {
    assert.equal(computeDelta(undefined, { a: 1 }, undefined), undefined);
    assert.equal(computeDelta({}, { a: 1 }, {}), undefined);
  });
});
