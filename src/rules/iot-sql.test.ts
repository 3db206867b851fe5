// Proves that the IoT SQL engine reproduces spec/iot-sql.md: a table of statement/topic/payload →
// output, no match or SqlParseException vectors, each tagged with the spec section, AWS example or
// decision it comes from.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isServiceError } from '../shared/index.js';
import { compileRule, prepareMessage, type EvaluationContext, type RuleEvaluation } from './index.js';

interface Vector {
  /** Where the expectation comes from: a spec section/vector number or the AWS page quoted there. */
  readonly src: string;
  readonly sql: string;
  /** awsIotSqlVersion; 2016-03-23 unless stated. */
  readonly version?: string;
  /** Defaults to 't' (the FROM of most vectors). */
  readonly topic?: string;
  /** An object or array is sent as JSON text, a string as raw text, a Buffer as is. Default {}. */
  readonly payload?: unknown;
  readonly ctx?: Partial<EvaluationContext>;
  /** Expected output, compared structurally after JSON.parse of the output bytes. */
  readonly out?: unknown;
  /** Expected output bytes as text, exactly. */
  readonly text?: string;
  /** Expected raw output bytes. */
  readonly bytes?: Buffer;
  readonly noMatch?: 'FROM' | 'WHERE';
  /** Expected SqlParseException message. */
  readonly error?: RegExp;
}

const CTX: EvaluationContext = { timestamp: 1_700_000_000_000, clientId: 'client-1', principal: 'a'.repeat(64) };

const SENSORS = {
  e: [
    { n: 'temperature', u: 'Cel', t: 1234, v: 22.5 },
    { n: 'light', u: 'lm', t: 1235, v: 135 },
    { n: 'acidity', u: 'pH', t: 1235, v: 7 },
  ],
};
const ENRICH = { attributes: { data1: 1, data2: 2 }, values: [{ a: 3 }, { b: 4 }, { c: 5 }] };
const SHADOW_DOC = (prev: number, cur: number): unknown => ({
  previous: { state: { reported: { value: prev } }, version: 1 },
  current: { state: { reported: { value: cur } }, version: 2 },
  timestamp: 1,
});

/** A function vector of spec section 12.4: SELECT <expr> AS r FROM 't' on {} → {"r": value} ({} for Undefined). */
function fn(expr: string, r: unknown, src = '§12.4 iot-sql-functions', extra: Partial<Vector> = {}): Vector {
  return { src, sql: `SELECT ${expr} AS r FROM 't'`, out: r === undefined ? {} : { r }, ...extra };
}

/** An expression vector: SELECT <expr> AS r FROM 't' on the payload. */
function ex(expr: string, payload: unknown, r: unknown, src: string, extra: Partial<Vector> = {}): Vector {
  return { src, sql: `SELECT ${expr} AS r FROM 't'`, payload, out: r === undefined ? {} : { r }, ...extra };
}

function err(sql: string, error: RegExp, src: string, version?: string): Vector {
  return version === undefined ? { src, sql, error } : { src, sql, error, version };
}

const deepJson = (depth: number): string => `{"a":1,"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;
const hugeObject: Record<string, number> = {};
for (let i = 0; i < 12_000; i++) hugeObject[`key${i}`] = i;

const VECTORS: readonly Vector[] = [
  // -- 12.1 Clauses, paths, aliases -------------------------------------------------------------
  { src: '§12.1 #1 iot-sql-reference', sql: "SELECT color AS rgb FROM 'topic/subtopic' WHERE temperature > 50", topic: 'topic/subtopic', payload: { color: 'red', temperature: 100 }, out: { rgb: 'red' } },
  { src: '§12.1 #2 iot-sql-where', sql: "SELECT color AS my_color FROM 'topic/subtopic' WHERE temperature > 50 AND color <> 'red'", topic: 'topic/subtopic', payload: { color: 'red', temperature: 40 }, noMatch: 'WHERE' },
  { src: '§12.1 #3 iot-sql-select', sql: "SELECT * FROM 'topic/subtopic'", topic: 'topic/subtopic', payload: { color: 'red', temperature: 50 }, out: { color: 'red', temperature: 50 } },
  { src: '§12.1 #4 iot-sql-select', sql: "SELECT color AS my_color, temperature AS fahrenheit FROM 'topic/subtopic'", topic: 'topic/subtopic', payload: { color: 'red', temperature: 50 }, out: { my_color: 'red', fahrenheit: 50 } },
  { src: '§12.1 #5 iot-sql-select', sql: "SELECT *, 15 AS speed FROM 'topic/subtopic'", topic: 'topic/subtopic', payload: { color: 'red', temperature: 50 }, out: { color: 'red', temperature: 50, speed: 15 } },
  { src: '§12.1 #6 iot-sql-select', sql: "SELECT VALUE color FROM 'topic/subtopic'", topic: 'topic/subtopic', payload: { color: 'red', temperature: 50 }, text: '"red"' },
  { src: '§12.1 #7 iot-sql-select', sql: "SELECT color.red AS red_value FROM 'topic/subtopic'", topic: 'topic/subtopic', payload: { color: { red: 255, green: 0, blue: 0 }, temperature: 50 }, out: { red_value: 255 } },
  { src: '§12.1 #8 iot-sql-select', sql: "SELECT (temperature - 32) * 5 / 9 AS celsius, upper(color) AS my_color FROM 'topic/subtopic'", topic: 'topic/subtopic', payload: { color: 'red', temperature: 50 }, out: { celsius: 10, my_color: 'RED' } },
  { src: '§12.1 #9 iot-sql-from', sql: "SELECT temperature AS t FROM 'topic/#'", topic: 'topic/subtopic-3/details', payload: { temperature: 70 }, out: { t: 70 } },
  { src: '§12.1 #10 iot-sql-from', sql: "SELECT temperature AS t FROM 'topic/#'", topic: 'topic-2/subtopic-x', payload: { temperature: 80 }, noMatch: 'FROM' },
  { src: '§12.1 #11 iot-sql-from', sql: "SELECT temperature AS t FROM 'topic/+'", topic: 'topic/subtopic-3/details', payload: { temperature: 70 }, noMatch: 'FROM' },
  {
    src: '§12.1 #12 OBS validation-tool (dotted alias)',
    sql: "SELECT state.debug AS state.debug, state.command AS state.command, version FROM 'test/test6' WHERE IsUndefined(state.debug) = False OR IsUndefined(state.command) = False",
    topic: 'test/test6',
    payload: { state: { command: 'DOOR_OPEN', debug: 'FALSE' }, version: '3.1' },
    out: { state: { debug: 'FALSE', command: 'DOOR_OPEN' }, version: '3.1' },
  },
  { src: '§12.1 #13 OBS validation-tool', sql: "SELECT *, topic(1) AS deviceId, topic(2) AS actuatorId, topic(3) AS cmd FROM '+/+/+/req'", topic: '123/ACT_123/slider/req', payload: { values: [50, 100] }, out: { values: [50, 100], deviceId: '123', actuatorId: 'ACT_123', cmd: 'slider' } },
  { src: '§12.1 #14 iot-sql-json', sql: "SELECT temp, md5(deviceid) AS hashed_id FROM 'topic/#'", topic: 'topic/a', payload: { deviceid: 'iot123', temp: 54.98, humidity: 32.43 }, out: { temp: 54.98, hashed_id: 'e37f81fb397e595c4aeb5645b8cbbbd1' } },
  { src: '§12.1 #15 iot-sql-case', sql: "SELECT CASE color WHEN 'green' THEN 'go' WHEN 'yellow' THEN 'caution' WHEN 'red' THEN 'stop' ELSE 'you are not at a stop light' END AS instructions FROM 'topic/subtopic'", topic: 'topic/subtopic', payload: { color: 'yellow' }, out: { instructions: 'caution' } },

  // -- 12.2 Versions, literals, nested queries --------------------------------------------------
  { src: '§12.2 #16 iot-rule-sql-version', sql: "SELECT VALUE arr FROM 'topic'", topic: 'topic', payload: { a: { b: 'c' }, arr: [1, 2, 3, 4] }, out: [1, 2, 3, 4] },
  { src: '§12.2 #17 iot-sql-literals', sql: "SELECT {'latitude': get(lat_long, 0), 'longitude': get(lat_long, 1)} AS lat_long FROM 'topic/subtopic'", topic: 'topic/subtopic', payload: { lat_long: [47.606, -122.332] }, out: { lat_long: { latitude: 47.606, longitude: -122.332 } } },
  { src: '§12.2 #18 iot-sql-literals', sql: "SELECT [lat, long] AS lat_long FROM 'topic/subtopic'", topic: 'topic/subtopic', payload: { lat: 47.606, long: -122.332 }, out: { lat_long: [47.606, -122.332] } },
  { src: '§12.2 #19 iot-sql-nested-queries', sql: "SELECT (SELECT VALUE n FROM e) AS sensors FROM 'my/topic'", topic: 'my/topic', payload: SENSORS, out: { sensors: ['temperature', 'light', 'acidity'] } },
  { src: '§12.2 #20 iot-sql-nested-queries', sql: "SELECT (SELECT v FROM e WHERE n = 'temperature') AS temperature FROM 'my/topic'", topic: 'my/topic', payload: SENSORS, out: { temperature: [{ v: 22.5 }] } },
  { src: '§12.2 #21 iot-sql-nested-queries', sql: "SELECT get((SELECT v FROM e WHERE n = 'temperature'), 0).v AS temperature FROM 'topic'", topic: 'topic', payload: SENSORS, out: { temperature: 22.5 } },
  { src: '§12.2 #22 OBS validation-tool', sql: "SELECT VALUE *.messages FROM 'test/test2'", topic: 'test/test2', payload: { messages: [{ message: 'a' }, { message: 'b' }] }, out: [{ message: 'a' }, { message: 'b' }] },
  { src: '§12.2 #23 OBS validation-tool', sql: "SELECT get((SELECT *, topic() AS topic FROM *), 0) AS data FROM 'test/test1'", topic: 'test/test1', payload: { foo: 'bar' }, out: { data: { foo: 'bar', topic: 'test/test1' } } },
  {
    src: '§12.2 #24 OBS validation-tool (numbers as doubles)',
    sql: "SELECT (SELECT * FROM Pos WHERE L1 <> isNull(SELECT VALUE L1 FROM Pos)) AS required_array FROM 'test/test3'",
    topic: 'test/test3',
    payload: '{"Pos":[{"L1":36.903999599999999,"L2":-25.263283700000002,"S":5},{"L1":36.903999599999977,"L2":-25.2632837000000772,"S":6},{"L2":-25.263283700000002,"S":7}]}',
    text: '{"required_array":[{"L1":36.9039996,"L2":-25.263283700000002,"S":5},{"L1":36.90399959999998,"L2":-25.263283700000077,"S":6}]}',
  },
  { src: '§12.2 #25 iot-sql-functions transform', sql: 'SELECT value transform("enrichArray", attributes, values) FROM \'A/B\'', topic: 'A/B', payload: ENRICH, out: [{ a: 3, data1: 1, data2: 2 }, { b: 4, data1: 1, data2: 2 }, { c: 5, data1: 1, data2: 2 }] },
  { src: '§12.2 #26 iot-sql-functions transform', sql: 'SELECT value transform("enrichArray", {"key": attributes.data1}, values) FROM \'A/B\'', topic: 'A/B', payload: ENRICH, out: [{ a: 3, key: 1 }, { b: 4, key: 1 }, { c: 5, key: 1 }] },
  { src: '§12.2 #27 OBS validation-tool (2016)', sql: "SELECT temperature, humidity, cast(light AS double) AS newLight FROM 'test/test4'", topic: 'test/test4', payload: '{"temperature":23.07,"humidity":49.9397,"light":5.0}', text: '{"temperature":23.07,"humidity":49.9397,"newLight":5}' },
  { src: '§12.2 #27 OBS validation-tool (2015)', version: '2015-10-08', sql: "SELECT temperature, humidity, cast(light AS double) AS newLight FROM 'test/test4'", topic: 'test/test4', payload: '{"temperature":23.07,"humidity":49.9397,"light":5.0}', text: '{"temperature":23.07,"humidity":49.9397,"newLight":5.0}' },
  { src: '§12.2 #28 iot-sql-operators IN', sql: "SELECT * FROM 'a/b' WHERE 3 IN arr", topic: 'a/b', payload: { arr: [1, 2, 3, 'three', 5.7, null] }, out: { arr: [1, 2, 3, 'three', 5.7, null] } },

  // -- 12.3 Undefined, Null and type coercion ---------------------------------------------------
  { src: '§12.3 #29 iot-sql-data-types', sql: "SELECT foo, bar FROM 't'", payload: { foo: null }, out: { foo: null } },
  { src: '§12.3 #30 iot-sql-data-types', sql: "SELECT NULL AS n FROM 't'", out: { n: null } },
  { src: '§12.3 #31 DERIVED data-types', sql: "SELECT a, b FROM 't'", payload: { a: 1 }, out: { a: 1 } },
  { src: '§12.3 #32 DERIVED operators', sql: "SELECT * FROM 't' WHERE missing > 5", payload: { x: 1 }, noMatch: 'WHERE' },
  { src: '§12.3 #33 DERIVED operators', sql: "SELECT * FROM 't' WHERE missing <> 'red'", payload: { x: 1 }, noMatch: 'WHERE' },
  { src: '§12.3 #34 DERIVED operators', sql: "SELECT * FROM 't' WHERE temperature = '50'", payload: { temperature: 50 }, noMatch: 'WHERE' },
  { src: '§12.3 #35 DERIVED operators', sql: "SELECT * FROM 't' WHERE temperature <> '50'", payload: { temperature: 50 }, out: { temperature: 50 } },
  { src: '§12.3 #36 DERIVED operators', sql: "SELECT * FROM 't' WHERE temperature > '40'", payload: { temperature: 50 }, out: { temperature: 50 } },
  { src: '§12.3 #37 DERIVED operators', sql: "SELECT * FROM 't' WHERE name > 'a'", payload: { name: 'b' }, noMatch: 'WHERE' },
  { src: '§12.3 #38 DERIVED operators +', sql: "SELECT 'temp:' + temperature AS s FROM 't'", payload: { temperature: 50 }, out: { s: 'temp:50' } },
  { src: '§12.3 #39 DERIVED operators AND', sql: "SELECT * FROM 't' WHERE enabled AND temperature > 50", payload: { enabled: 'TRUE', temperature: 60 }, out: { enabled: 'TRUE', temperature: 60 } },
  { src: '§12.3 #40 iot-sql-functions', sql: "SELECT isNull(foo) AS a, isUndefined(bar) AS b, isNull(bar) AS c FROM 't'", payload: { foo: null }, out: { a: true, b: true, c: false } },
  { src: '§12.3 #41 iot-sql-data-types abs', sql: "SELECT abs(flag) AS x, abs('-5.123') AS y FROM 't'", payload: { flag: true }, out: { y: 5.123 } },
  { src: '§12.3 #42 iot-sql-functions decode', sql: 'SELECT decode(encoded_temp, "base64").temperature AS temp FROM \'topic/subtopic\'', topic: 'topic/subtopic', payload: { encoded_temp: 'eyAidGVtcGVyYXR1cmUiOiAzMyB9Cg==' }, out: { temp: 33 } },
  { src: '§12.3 #43 iot-sql-where (binary payload)', sql: "SELECT decode(encode(*, 'base64'), 'base64') AS value FROM 'topic/subtopic' WHERE decode(encode(*, 'base64'), 'base64') > 50", topic: 'topic/subtopic', payload: Buffer.from('80'), out: { value: 80 } },
  { src: '§12.3 #44 iot-sql-data-types', sql: "SELECT VALUE missing FROM 't'", text: '' },
  { src: '§12.3 #45 DERIVED operators', sql: "SELECT * FROM 't' WHERE a = 5.0", payload: { a: 5 }, out: { a: 5 } },

  // -- 12.4 Function results --------------------------------------------------------------------
  fn('substring("012345", 1, 3)', '12'),
  fn('substring("012345", -50, 50)', '012345'),
  fn('substring(123, 2)', '3'),
  fn('substring(true, 1.2)', 'rue'),
  fn('substring("012345", 2.745)', '2345', '§7 substring'),
  fn('substring("012345", 3, 1)', '', '§7 substring'),
  fn('concat([1, 2, 3], "hello")', [1, 2, 3, 'hello']),
  fn('concat([1, 2, 3], "hello", [4, 5, 6])', [1, 2, 3, 'hello', 4, 5, 6], '§7 concat'),
  fn('concat("he", "is", "man")', 'heisman'),
  fn('concat(1, "hello")', '1hello'),
  fn('concat()', undefined, '§7 concat: 0 args → Undefined'),
  fn('concat("only")', 'only', '§7 concat: 1 arg unchanged'),
  fn('indexof("abcd", "bc")', 1),
  fn('indexof("abcd", "x")', -1, '§7 indexof [DECISION] not found = -1'),
  fn('replace("abcdabcd", "b", "x")', 'axcdaxcd'),
  fn('replace("a.b.c", ".", "-")', 'a-b-c', '§7 replace: literal, not a pattern'),
  fn('regexp_replace("abcd", "b(.*)d", "$1")', 'ac'),
  fn('regexp_replace("aaa", "a", "b")', 'bbb', '§7 regexp_replace: all matches'),
  fn('regexp_matches("aaaa", "a{2,}")', true),
  fn('regexp_matches("abc", "[")', undefined, '§7 regexp_matches: invalid regex → Undefined'),
  fn('regexp_substr("hihihello", "(hi)*")', 'hihi'),
  fn('startswith("ranger", "ran")', true),
  fn('endswith("cat", "at")', true),
  fn('startswith(NULL, "a")', undefined, '§7 startswith: Null → Undefined'),
  fn('lpad("hello", 2)', '  hello'),
  fn('rpad("hello", 2)', 'hello  '),
  fn('trim(" hi ")', 'hi'),
  fn('ltrim(" h i ")', 'h i '),
  fn('rtrim(" h i ")', ' h i'),
  fn('length("hi")', 2),
  fn('length(false)', 5),
  fn('numbytes("€")', 3),
  fn('lower("HELLO")', 'hello'),
  fn('upper("hello")', 'HELLO'),
  fn('lower(["HELLO"])', '["hello"]', '§7 lower: arrays through String conversion'),
  fn('chr(65)', 'A'),
  fn('ceil(-1.2)', -1),
  fn('ceil(1.2)', 2, '§7 ceil'),
  fn('floor(-1.2)', -2),
  fn('floor(1.2)', 1, '§7 floor'),
  fn('round(1.5)', 2),
  fn('round(-1.5)', -2),
  fn('round(-1.1)', -1, '§7 round'),
  fn('trunc(2.888, 2)', 2.88),
  fn('trunc(2.00, 5)', 2),
  fn('trunc(2.3, 0)', 2, '§7 trunc'),
  fn('trunc(2.3123, 2)', 2.31, '§7 trunc'),
  fn('mod(8, 3)', 2),
  fn('remainder(8, 3)', 2, '§7 remainder'),
  fn('mod(8, 0)', undefined, '§4 [DECISION] division by zero → Undefined'),
  fn('sign(-7)', -1),
  fn('abs(-5)', 5),
  fn('abs("abc")', undefined, '§7 numeric functions: non-numeric string → Undefined'),
  fn('abs(NULL)', undefined, '§7 numeric functions: Null → Undefined'),
  fn('nanvl(8, 3)', 8),
  fn('nanvl(missing, 3)', 3, '§7 nanvl: Undefined → replacement'),
  fn('nanvl(NULL, 3)', 3, '§7 nanvl: Null → replacement'),
  fn('bitand(13, 5)', 5),
  fn('bitor(8, 5)', 13),
  fn('power(2, 5)', 32, '§7 power'),
  { src: '§7 power (2015-10-08: a double prints 32.0)', version: '2015-10-08', sql: "SELECT power(2, 5) AS r FROM 't'", text: '{"r":32.0}' },
  fn('sqrt(9)', 3, '§7 sqrt'),
  fn('sqrt(-1)', undefined, '§7 imaginary result → Undefined'),
  fn('log(100)', 2, '§7 log base 10'),
  fn('cast(true AS Int)', 1),
  fn("cast('5.9' AS Int)", 5, '§7 cast: numeric string parsed then truncated'),
  fn('cast(5.9 AS Integer)', 5, '§7 cast: Decimal rounded down'),
  fn('cast(1 AS Boolean)', true, '§7 cast: non-zero → true'),
  fn('cast(0 AS Bool)', false, '§7 cast: 0 → false'),
  fn("cast('TRUE' AS Boolean)", true, '§7 cast Boolean'),
  fn('cast(5 AS String)', '5', '§7 cast String'),
  fn('cast(true AS varchar)', 'true', '§7 cast String'),
  fn('cast(NULL AS Int)', undefined, '§7 cast: Null → Undefined'),
  fn('cast(1 AS Widget)', undefined, '§7 cast: unknown type → Undefined'),
  fn('md5("hello")', '5d41402abc4b2a76b9719d911017c592'),
  fn('md2("hello")', 'a9046c73e00331af68917d3804f70655'),
  fn('sha1("hello")', 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d', '§7 hashing [standard SHA-1]'),
  fn('sha224("hello")', 'ea09ae9cc6768c50fcee903ed054556e5bfc8347907f12598aa24193', '§7 hashing [standard SHA-224]'),
  fn('sha256("hello")', '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'),
  fn('sha384("hello")', '59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f', '§7 hashing [standard SHA-384]'),
  fn('sha512("hello")', '9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043', '§7 hashing [standard SHA-512]'),
  fn('md5(NULL)', undefined, '§7 string functions: Null → Undefined'),
  fn('isUndefined(floor([1, 2, 3]))', true),
  fn('time_to_epoch("2007-12-03 10:15:30.592 America/Los_Angeles", "yyyy-MM-dd HH:mm:ss.SSS z")', 1196705730592),
  fn('time_to_epoch("18 December 2015", "dd MMMM yyyy")', 1450396800000, '§7 time_to_epoch'),
  fn('time_to_epoch("2020-04-03 09:45:18 UTC+01:00", "yyyy-MM-dd HH:mm:ss VV")', 1585903518000, '§7 time_to_epoch'),
  fn('time_to_epoch("not a date", "yyyy-MM-dd")', undefined, '§7 time_to_epoch: no match → Undefined'),
  fn(`parse_time("yyyy.MM.dd G 'at' HH:mm:ss z", 100000000, 'America/Belize')`, '1970.01.01 AD at 21:46:40 CST'),
  fn('parse_time("yyyy-MM-dd HH:mm:ss", 0)', '1970-01-01 00:00:00', '§7 parse_time: UTC default'),
  fn('parse_time("yyyy", 0, "Not/AZone")', undefined, '§7 parse_time: unknown zone → Undefined'),
  fn('get(["a", "b", "c"], 1)', 'b'),
  fn('get({"a": "b"}, "a")', 'b'),
  fn('get(["a"], 5)', undefined, '§7 get: out of range → Undefined'),
  fn('get({"a": "b"}, 0)', undefined, '§7 get: Object + non-String key → Undefined'),
  fn('get_or_default(missing, "d")', 'd', '§7 get_or_default [DECISION]'),
  fn('transform("other", {"a": 1}, [{"b": 2}])', undefined, '§7 transform: other modes → Undefined'),
  fn('encode("hello", \'base64\')', 'aGVsbG8=', '§7 encode'),
  fn('decode("aGVsbG8=", \'base64\')', 'hello', '§7 decode: not JSON → string'),
  fn('decode("not base64!", \'base64\')', null, '§7 decode: undecodable → Null'),
  fn('isNull(NULL)', true, '§7 isNull'),
  fn('isNull(missing)', false, '§7 isNull: false for Undefined'),

  // -- 7 the other functions and their wrong-type answers ---------------------------------------
  fn('exp(0)', 1, '§7 exp'),
  fn('ln(1)', 0, '§7 ln'),
  fn('ln(0)', undefined, '§7 infinite result → Undefined'),
  fn('sin(0) + tan(0) + atan(0) + sinh(0) + tanh(0)', 0, '§7 trig'),
  fn('cos(0) + cosh(0)', 2, '§7 trig'),
  fn('acos(1)', 0, '§7 trig'),
  fn('asin(2)', undefined, '§7 trig: imaginary result → Undefined'),
  fn('atan2(0, 1)', 0, '§7 atan2'),
  fn("power('2', 3)", 8, '§7 numeric strings converted'),
  fn('power(true, 2)', undefined, '§7 Boolean → Undefined'),
  fn("ceil('1.2')", 2, '§7 numeric strings converted'),
  fn("sign('x')", undefined, '§7 non-numeric string → Undefined'),
  fn("trunc('abc', 1)", undefined, '§7 trunc wrong type'),
  fn('floor({"a": 1})', undefined, '§7 Object → Undefined'),
  fn('upper(123)', '123', '§7 std string conversion'),
  fn('length([1, 2])', 5, '§7 length of an Array is that of its JSON text'),
  fn('numbytes(NULL)', undefined, '§7 Null → Undefined'),
  fn('substring(NULL, 1)', undefined, '§7 Null → Undefined'),
  fn('substring("abc", "x")', undefined, '§7 substring: non-numeric index → Undefined'),
  fn('lpad(NULL, 2)', undefined, '§7 Null → Undefined'),
  fn('replace(1, 1, 2)', '2', '§7 std string conversion'),
  fn('indexof(NULL, "a")', undefined, '§7 Null → Undefined'),
  fn("chr('A')", undefined, '§7 chr: non-numeric → Undefined'),
  fn('regexp_matches("ABC", "(?i)abc")', true, '§7 Java inline flags'),
  fn('regexp_replace("aaa", "(a)", "$2")', undefined, '§7 invalid replacement → Undefined'),
  fn('regexp_replace("2024-06-11", "(\\d+)-(\\d+)-(\\d+)", "$3.$2.$1")', '11.06.2024', '§7 regexp_replace groups'),
  fn('regexp_substr("abc", "x")', undefined, '§7 [DECISION] regexp_substr no match → Undefined'),
  fn('get_or_default(NULL, 1)', 1, '§7 get_or_default: Null'),
  fn('get_or_default(0, 1)', 0, '§7 get_or_default: a value is kept'),
  fn('transform("enrichArray", 1, [])', undefined, '§7 transform: wrong types → Undefined'),
  fn("encode(NULL, 'base64')", undefined, '§7 encode Null → Undefined'),
  fn("encode('x', 'hex')", undefined, '§7 encode: only base64'),
  fn('isUndefined(NULL)', false, '§7 isUndefined: Null is a value'),
  fn("concat('a', NULL)", undefined, '§7 concat [DECISION] Null argument → Undefined'),
  { src: '§7 accountid(), sourceip(), get_mqtt_property(), get_user_properties()', sql: "SELECT accountid() AS a, sourceip() AS ip, get_mqtt_property('content_type') AS ct, get_user_properties('k') AS k, get_user_properties('none') AS n FROM 't'", ctx: { accountId: '000000000000', sourceIp: '10.0.0.1', mqttProperties: { content_type: 'application/json' }, userProperties: [['k', '1'], ['j', '2'], ['k', '3']] }, out: { a: '000000000000', ip: '10.0.0.1', ct: 'application/json', k: ['1', '3'] } },

  // -- 12.5 / 7 message context -----------------------------------------------------------------
  { src: '§12.5 #46 iot-sql-functions topic (Basic Ingest)', sql: 'SELECT topic() AS t, topic(3) AS f', topic: 'Buildings/Building5/Floor2/Room201/Lights', ctx: { basicIngest: true }, out: { t: 'Buildings/Building5/Floor2/Room201/Lights', f: 'Floor2' } },
  { src: '§11 Basic Ingest: a statement without FROM is not reached through the broker', sql: 'SELECT topic() AS t', topic: 'a/b', noMatch: 'FROM' },
  { src: '§11 Basic Ingest: FROM is not consulted', sql: "SELECT topic() AS t FROM 'other/topic'", topic: 'a/b', ctx: { basicIngest: true }, out: { t: 'a/b' } },
  { src: '§7 topic(n) [DECISION] out of range → Undefined', sql: "SELECT topic(9) AS r, topic(0) AS s FROM 'a/b'", topic: 'a/b', out: {} },
  { src: '§7 clientid()', sql: "SELECT clientid() AS c, principal() AS p, timestamp() AS ts FROM 't'", out: { c: 'client-1', p: 'a'.repeat(64), ts: 1_700_000_000_000 } },
  { src: '§7 clientid(): n/a without MQTT', sql: "SELECT clientid() AS c, traceid() AS tr FROM 't'", ctx: { clientId: undefined as unknown as string }, out: { c: 'n/a' } },
  { src: '§7 sql_version()', sql: "SELECT sql_version() AS v FROM 't'", version: 'beta', out: { v: 'beta' } },
  { src: '§12.5 #49 DERIVED shadow documents', sql: "SELECT topic(3) AS thing, current.state.reported.value AS value FROM '$aws/things/+/shadow/name/+/update/documents' WHERE isNull(previous) OR previous.state.reported.value <> current.state.reported.value", topic: '$aws/things/lamp1/shadow/name/cfg/update/documents', payload: SHADOW_DOC(1, 2), out: { thing: 'lamp1', value: 2 } },
  { src: '§12.5 #50 DERIVED shadow documents', sql: "SELECT topic(3) AS thing FROM '$aws/things/+/shadow/name/+/update/documents' WHERE isNull(previous) OR previous.state.reported.value <> current.state.reported.value", topic: '$aws/things/lamp1/shadow/name/cfg/update/documents', payload: SHADOW_DOC(2, 2), noMatch: 'WHERE' },
  { src: '§10 [DECISION] previous null: three-valued OR fires', sql: "SELECT topic(3) AS thing FROM '$aws/things/+/shadow/update/documents' WHERE isNull(previous) OR previous.state.reported.value <> current.state.reported.value", topic: '$aws/things/lamp1/shadow/update/documents', payload: { previous: null, current: { state: { reported: { value: 1 } } } }, out: { thing: 'lamp1' } },
  { src: '§13.9 [DECISION] a first-level wildcard does not match $ topics', sql: "SELECT * FROM '+/things/#'", topic: '$aws/things/x', noMatch: 'FROM' },
  { src: '§1 [DECISION] sensor/# does not match sensor', sql: "SELECT * FROM 'sensor/#'", topic: 'sensor', noMatch: 'FROM' },

  // -- 4 Operators and precedence ---------------------------------------------------------------
  ex('2 + 3 * 4', {}, 14, '§4 precedence: * before +'),
  ex('(2 + 3) * 4', {}, 20, '§4 parentheses'),
  ex('10 - 4 - 3', {}, 3, '§4 + - left-associative'),
  ex('7 % 3', {}, 1, '§4 % Int'),
  ex('-7 % 3', {}, -1, '§4 % sign of the dividend'),
  ex('5.5 % 2', {}, 1.5, '§4 % Decimal'),
  ex("'5' * 2", {}, 10, '§4 numeric strings converted'),
  ex("'abc' * 2", {}, undefined, '§4 non-numeric string → Undefined'),
  ex('true + 1', {}, undefined, '§4 + Boolean → Undefined'),
  ex('1 + 2.5', {}, 3.5, '§4 Int + Decimal → Decimal'),
  ex("'a' + 1 + 2", {}, 'a12', '§4 + left-associative, String wins'),
  ex("1 + 2 + 'a'", {}, '3a', '§4 + left-associative'),
  ex("'a' + missing", {}, undefined, '§4 [DECISION] String + Undefined → Undefined'),
  ex('x / 0', { x: 5 }, undefined, '§4 [DECISION] division by zero → Undefined'),
  ex('x * 1.5', { x: 4 }, 6, '§2 2016: whole-number Decimal result prints as Int'),
  ex('-x', { x: 4.5 }, -4.5, '§4 unary minus'),
  ex('- -5', {}, 5, '§4 unary minus twice'),
  ex("-'3'", {}, -3, '§4 unary minus converts numeric strings'),
  ex('NOT true', {}, false, '§4 NOT'),
  ex("NOT 'FALSE'", {}, true, '§4 NOT converts "true"/"false" strings'),
  ex('NOT 5', {}, undefined, '§4 NOT non-Boolean → Undefined'),
  ex('NOT a = 1', { a: 2 }, true, '§4 precedence: NOT looser than ='),
  ex('a = 1 OR b = 2 AND c = 3', { a: 1, b: 0, c: 0 }, true, '§4 precedence: AND before OR'),
  ex('true OR missing > 5', {}, true, '§3 [DECISION] three-valued OR'),
  ex('false AND missing > 5', {}, false, '§3 [DECISION] three-valued AND'),
  ex('true AND missing > 5', {}, undefined, '§3 AND with Undefined → Undefined'),
  ex("'10' > 9", {}, true, '§4 > numeric string converted'),
  ex("'abc' < 'abd'", {}, undefined, '§4 strings never compared as text'),
  ex('true > false', {}, undefined, '§4 > Boolean → Undefined'),
  ex('NULL > 1', {}, undefined, '§4 > Null → Undefined'),
  ex('5 >= 5.0', {}, true, '§4 Int and Decimal compare numerically'),
  ex('[1, 2] = [1, 2]', {}, true, '§4 = Array: same items, same order'),
  ex('[1, 2] = [2, 1]', {}, false, '§4 = Array order matters'),
  ex("{'a': 1, 'b': 2} = {'b': 2, 'a': 1}", {}, true, '§4 = Object ignores key order'),
  ex('NULL = NULL', {}, true, '§4 = Null'),
  ex('NULL <> NULL', {}, false, '§4 <> Null<>Null → false'),
  ex('1 = true', {}, false, '§4 = mismatched types → false'),
  ex("'1' <> 1", {}, true, '§4 <> mismatched types → true'),
  ex('missing = missing', {}, undefined, '§4 = Undefined → Undefined'),
  ex("'three' IN arr", { arr: [1, 2, 3, 'three'] }, true, '§4 IN String'),
  ex('4 IN arr', { arr: [1, 2, 3] }, false, '§4 IN not found → false'),
  ex('[1] IN [[1], [2]]', {}, true, '§4 IN Array element'),
  ex('x IN 5', { x: 5 }, undefined, '§4 [DECISION] IN non-array → Undefined'),
  ex("CASE x WHEN 1 THEN 'one' END", { x: 2 }, undefined, '§4 CASE without match or ELSE → Undefined'),
  ex("CASE missing WHEN 1 THEN 'one' ELSE 'other' END", {}, undefined, '§4 CASE Undefined subject → Undefined'),
  ex("CASE 5 WHEN 5.0 THEN 'y' END", {}, 'y', '§4 CASE compares with ='),
  ex("CASE '5' WHEN 5 THEN 'num' ELSE 'str' END", {}, 'str', '§4 CASE mismatched types do not match'),
  { src: '§1 WHERE must be Boolean true (a number is not)', sql: "SELECT * FROM 't' WHERE temperature", payload: { temperature: 60 }, noMatch: 'WHERE' },
  { src: '§1 WHERE must be Boolean true (the string "true" is not)', sql: "SELECT * FROM 't' WHERE 'true'", noMatch: 'WHERE' },
  { src: '§1 WHERE Null → no actions', sql: "SELECT * FROM 't' WHERE NULL", noMatch: 'WHERE' },
  { src: '§3 [DECISION] Ints exact beyond 2^53', sql: "SELECT big + 1 AS r FROM 't'", payload: '{"big":9007199254740993}', text: '{"r":9007199254740994}' },
  { src: '§3 [DECISION] big Ints pass through exactly', sql: "SELECT * FROM 't'", payload: '{"id":123456789012345678901234567890}', text: '{"id":123456789012345678901234567890}' },
  { src: '§1 SELECT VALUE of an expression', sql: "SELECT VALUE 2 * 3 FROM 't'", text: '6' },

  // -- paths and names --------------------------------------------------------------------------
  ex('a.b.c', { a: { b: 5 } }, undefined, '§3 member of a non-object → Undefined'),
  ex('arr.length', { arr: [1, 2] }, undefined, '§3 member of an array → Undefined (no JavaScript property)'),
  { src: '§1 names never resolve through the prototype', sql: "SELECT constructor AS c, toString AS s FROM 't'", out: {} },
  { src: '§1 a key named constructor is an ordinary key', sql: "SELECT constructor AS c FROM 't'", payload: { constructor: 1 }, out: { c: 1 } },
  { src: '§1 an alias named __proto__ is an ordinary key', sql: "SELECT 1 AS __proto__ FROM 't'", text: '{"__proto__":1}' },
  ex('arr[1]', { arr: [1, 2, 3] }, 2, '§1 [DECISION] a[n] = get(a, n)'),
  ex('arr[10]', { arr: [1, 2, 3] }, undefined, '§1 a[n] out of range → Undefined'),
  ex('get(*, "my-key")', { 'my-key': 'v' }, 'v', '§1 keys with - need get()'),
  ex('a.value + a.end', { a: { value: 1, end: 2 } }, 3, '§1 keywords are names after "."'),
  { src: '§1 dotted alias next to * copies, merges and leaves the payload alone', sql: "SELECT *, 1 AS state.flag FROM 't'", payload: { state: { a: 1 }, x: 2 }, out: { state: { a: 1, flag: 1 }, x: 2 } },
  { src: '§1 [DECISION] un-aliased path → last segment', sql: "SELECT a.b.c, *.x FROM 't'", payload: { a: { b: { c: 1 } }, x: 2 }, out: { c: 1, x: 2 } },
  { src: '§1 `value` is an attribute when no expression follows', sql: "SELECT value FROM 't'", payload: { value: 7 }, out: { value: 7 } },
  { src: '§1 `value * 2` is arithmetic on the attribute, not SELECT VALUE', sql: "SELECT value * 2 AS x FROM 't'", payload: { value: 4 }, out: { x: 8 } },
  { src: '§1 keywords are case-insensitive (AWS examples)', sql: "select value color from 't' where Temperature > 1 and True", payload: { color: 'red', Temperature: 2 }, text: '"red"' },
  { src: '§1 [DECISION] an un-aliased expression produces no key', sql: "SELECT upper(color), color FROM 't'", payload: { color: 'red' }, out: { color: 'red' } },

  // -- 5 payload kinds --------------------------------------------------------------------------
  { src: '§5 SELECT * passes a binary payload through', sql: "SELECT * FROM 't'", payload: Buffer.from([0, 1, 2, 255]), bytes: Buffer.from([0, 1, 2, 255]) },
  { src: '§5 encode(*) of a binary payload', sql: "SELECT encode(*, 'base64') AS data FROM 't'", payload: Buffer.from([0, 1, 2, 255]), out: { data: 'AAEC/w==' } },
  { src: '§5 SELECT VALUE * of a binary payload', sql: "SELECT VALUE * FROM 't'", payload: Buffer.from('raw text'), bytes: Buffer.from('raw text') },
  { src: '§5 field references on a binary payload are Undefined', sql: "SELECT a FROM 't'", payload: Buffer.from('a=1'), out: {} },
  { src: '§5 [DECISION] a top-level array is not addressable', sql: "SELECT VALUE get(*, 0) FROM 't'", payload: [1, 2], text: '' },
  { src: '§5 SELECT * of a top-level array passes it through', sql: "SELECT * FROM 't'", payload: [1, 2], text: '[1,2]' },
  { src: '§5 an empty payload', sql: "SELECT * FROM 't'", payload: Buffer.alloc(0), text: '' },
  { src: '§5 [DECISION] `*` adds nothing to an object when the payload is binary', sql: "SELECT *, 1 AS x FROM 't'", payload: Buffer.from('abc'), out: { x: 1 } },
  { src: '§5 encode(*) of a JSON payload encodes the bytes as received', sql: "SELECT encode(*, 'base64') AS b FROM 't'", payload: '{ "a" : 1 }', out: { b: Buffer.from('{ "a" : 1 }').toString('base64') } },

  // -- 6 SET ------------------------------------------------------------------------------------
  { src: '§6 SET variables in SELECT and WHERE', sql: "SET @t = temperature * 2 SELECT @t AS doubled FROM 't' WHERE @t > 10", payload: { temperature: 6 }, out: { doubled: 12 } },
  { src: '§6 later assignments see earlier ones', sql: "SET @a = 1, @b = @a + 1 SELECT @b AS b FROM 't'", out: { b: 2 } },
  { src: '§6 @v.prop member access', sql: "SET @v = state.reported SELECT @v.temp AS temp FROM 't'", payload: { state: { reported: { temp: 20 } } }, out: { temp: 20 } },
  { src: '§6 variables in nested queries', sql: "SET @min = 100 SELECT (SELECT VALUE n FROM e WHERE v > @min) AS big FROM 't'", payload: SENSORS, out: { big: ['light'] } },

  // -- 2 versions -------------------------------------------------------------------------------
  err("SELECT {'a': 1} AS o FROM 't'", /Line 1, column 8: object literals \{\.\.\.\} need SQL version 2016-03-23 \(this rule uses 2015-10-08\)/, '§2 2015-10-08: no object literals', '2015-10-08'),
  err("SELECT [1] AS o FROM 't'", /column 8: array literals/, '§2 2015-10-08: no array literals', '2015-10-08'),
  err("SELECT (SELECT VALUE n FROM e) AS s FROM 't'", /column 8: nested queries/, '§2 2015-10-08: no nested queries', '2015-10-08'),
  err("SELECT encode(*, 'base64') AS s FROM 't'", /encode\(\) needs SQL version 2016-03-23/, '§2 2015-10-08: no encode', '2015-10-08'),
  err("SELECT parse_time('yyyy', 0) AS s FROM 't'", /parse_time\(\) needs SQL version 2016-03-23/, '§2 2015-10-08: no parse_time', '2015-10-08'),
  { src: '§2 [DECISION] 2015-10-08: SELECT VALUE of an array is not output', version: '2015-10-08', sql: "SELECT VALUE arr FROM 't'", payload: { arr: [1, 2] }, text: '' },
  { src: '§2 2015-10-08: whole-number Decimals stay Decimal', version: '2015-10-08', sql: "SELECT 10.0 AS d, light FROM 't'", payload: '{"light":5.0}', text: '{"d":10.0,"light":5.0}' },
  { src: '§2 2016-03-23: whole-number Decimals become Int', sql: "SELECT 10.0 AS d, light FROM 't'", payload: '{"light":5.0}', text: '{"d":10,"light":5}' },
  { src: '§2 2016-03-23: even after cast(x AS Decimal)', sql: "SELECT cast(5 AS Decimal) AS d FROM 't'", text: '{"d":5}' },
  { src: '§2 2015-10-08: cast AS Decimal not available → Undefined', version: '2015-10-08', sql: "SELECT cast(5 AS Decimal) AS d, cast(1 AS Boolean) AS b FROM 't'", out: {} },
  { src: '§2 [DECISION] beta = 2016-03-23', version: 'beta', sql: "SELECT VALUE arr FROM 't'", payload: { arr: [1, 2] }, out: [1, 2] },
  { src: '§2 default version is 2015-10-08 (compileRule without version)', version: 'default', sql: "SELECT 1.0 AS d FROM 't'", text: '{"d":1.0}' },

  // -- bad input --------------------------------------------------------------------------------
  err("SELECT * FROM 't' WHERE a >", /^Line 1, column 28: expected an expression after '>' but found the end of the statement$/, '§9 SqlParseException with position'),
  err("SELECT * FORM 't'", /^Line 1, column 10: .*found 'FORM' \(did you mean FROM\?\)$/, '§9 misspelt keyword'),
  err("SELCT * FROM 't'", /^Line 1, column 1: expected SELECT .* \(did you mean SELECT\?\)$/, '§9 misspelt SELECT'),
  err('', /the statement is empty/, '§9 empty statement'),
  err("SELECT * FROM topic/#", /column 15: the FROM topic filter must be quoted/, '§1 FROM is a quoted topic filter'),
  err("SELECT * FROM 'a/#/b'", /column 15: .*'#' must be a whole level and the last one/, '§1 topic filter: # last'),
  err("SELECT * FROM 'a/b+'", /'\+' must fill a whole level/, '§1 topic filter: + whole level'),
  err("SELECT * FROM ''", /topic filter is empty/, '§1 topic filter: empty'),
  err("SELECT * FROM 't' WHERE a != 1", /column 27: '!=' is not an IoT SQL operator; use '<>'/, '§4 != does not exist'),
  err("SELECT a || b AS c FROM 't'", /'\|\|' is not an IoT SQL operator/, '§4 || does not exist'),
  err("SELECT * FROM 't' WHERE a LIKE 'x%'", /column 27: LIKE is not supported.*regexp_matches/, '§4 LIKE does not exist'),
  err("SELECT * FROM 't' WHERE a IS NULL", /IS \[NOT\] NULL is not supported.*isNull/, '§4 IS NULL does not exist'),
  err("SELECT * FROM 't' WHERE a BETWEEN 1 AND 2", /BETWEEN is not supported/, '§4 BETWEEN does not exist'),
  err("SELECT CASE WHEN a = 1 THEN 2 END AS x FROM 't'", /column 13: searched CASE .* is not supported/, '§4 only CASE v WHEN t'),
  err("SELECT CASE a ELSE 1 END AS x FROM 't'", /expected WHEN \(CASE needs at least one WHEN/, '§4 CASE needs a WHEN'),
  err("SELECT foo(1) AS x FROM 't'", /^Line 1, column 8: unknown function 'foo'/, 'brief: unknown function → SqlParseException'),
  err("SELECT uper(a) AS x FROM 't'", /unknown function 'uper' \(did you mean upper\(\)\?\)/, 'brief: unknown function, suggestion'),
  err("SELECT upper() AS x FROM 't'", /upper\(\) takes 1 argument but was given 0; usage: upper\(string\)/, 'brief: wrong arity'),
  err("SELECT substring('a', 1, 2, 3) AS x FROM 't'", /substring\(\) takes 2 or 3 arguments but was given 4/, 'brief: wrong arity'),
  err("SELECT get_dynamodb('t', 'k', 'v', 'x', 'arn') AS x FROM 't'", /get_dynamodb\(\) takes 4 or 6 arguments but was given 5/, '§7 get_dynamodb arities'),
  err("SELECT * FROM 't' WHERE b = 'abc", /^Line 1, column 29: the string starting here is never closed \(missing '\)$/, '§9 unterminated string'),
  err("SELECT a = 1 = 2 AS x FROM 't'", /comparisons cannot be chained/, '§4 comparisons are non-associative'),
  err("SELECT *\nFROM 't'\nWHERE (a > 1", /^Line 3, column 13: expected '\)' closing the parenthesis/, '§9 position on a later line'),
  err("SELECT VALUE a, b FROM 't'", /SELECT VALUE takes exactly one expression/, '§1 SELECT VALUE takes one item'),
  err("SELECT * FROM 't' WHERE", /expected an expression after WHERE/, '§9 WHERE without condition'),
  err("SELECT a -- the colour\nFROM 't'", /^Line 1, column 10: comments are not supported in IoT SQL$/, '§1 comments are not supported'),
  err("SELECT * FROM 't';", /must not end with a semicolon/, '§9 trailing semicolon'),
  err("SELECT * FROM 't' WHERE a > 1 FROM 'u'", /FROM must come before WHERE/, '§1 clause order'),
  err("SELECT * FROM 't' SET @a = 1", /SET clause must come first/, '§6 SET before SELECT'),
  err(`SELECT ${'('.repeat(300)}1${')'.repeat(300)} AS x FROM 't'`, /nested more than 200 levels/, 'bad input: deeply nested SQL'),
  err(`SELECT ${Array.from({ length: 500 }, () => 'a').join(' + ')} AS x FROM 't'`, /nested more than 400 levels/, 'bad input: very long operator chain'),
  err("SELECT @x AS x FROM 't'", /the variable @x is not defined/, '§6 undefined variable'),
  err("SET @a = 1, @a = 2 SELECT @a AS a FROM 't'", /@a is assigned twice/, '§6 each variable assigned once'),
  err("SELECT 1abc AS x FROM 't'", /invalid number '1abc'/, '§1 names cannot start with a digit'),
  err("SELECT a.0 AS x FROM 't'", /start with a digit need get\(\)/, '§1 numeric keys need get()'),
  err("SELECT * AS x FROM 't'", /'\*' cannot have an alias/, '§1 * has no alias'),
  err("SELECT * FROM 't' WHERE isNull(SELECT)", /expected an expression after SELECT/, '§9 incomplete nested query'),

  // -- huge and deep payloads -------------------------------------------------------------------
  { src: 'bad input: a 200 KB payload', sql: "SELECT key11999 AS last FROM 't' WHERE key0 = 0", payload: hugeObject, out: { last: 11999 } },
  { src: 'bad input: 900-deep JSON is JSON', sql: "SELECT a FROM 't'", payload: deepJson(900), out: { a: 1 } },
  { src: '§3 [DECISION] JSON deeper than 1,000 levels is not JSON: fields Undefined', sql: "SELECT a FROM 't'", payload: deepJson(5000), out: {} },
  { src: '§3 [DECISION] ... and SELECT * passes its bytes through', sql: "SELECT * FROM 't'", payload: deepJson(5000), text: deepJson(5000) },
  { src: 'bad input: invalid JSON is a binary payload', sql: "SELECT a, encode(*, 'base64') AS raw FROM 't'", payload: '{"a":', out: { raw: Buffer.from('{"a":').toString('base64') } },
];

function payloadOf(v: Vector): Buffer {
  const p = v.payload ?? {};
  if (Buffer.isBuffer(p)) return p;
  return Buffer.from(typeof p === 'string' ? p : JSON.stringify(p));
}

function evaluate(v: Vector): RuleEvaluation {
  const rule = v.version === 'default' ? compileRule(v.sql) : compileRule(v.sql, v.version ?? '2016-03-23');
  const r = rule.evaluate(v.topic ?? 't', payloadOf(v), { ...CTX, ...v.ctx });
  assert.ok(!(r instanceof Promise), 'these statements evaluate synchronously');
  return r;
}

describe('IoT SQL vectors (spec/iot-sql.md)', () => {
  it('has at least 150 vectors, each with a source', () => {
    assert.ok(VECTORS.length >= 150, `only ${VECTORS.length} vectors`);
    for (const v of VECTORS) assert.ok(v.src.length > 0);
  });

  for (const [i, v] of VECTORS.entries()) {
    it(`#${i + 1} [${v.src}] ${v.sql.length > 90 ? `${v.sql.slice(0, 87)}...` : v.sql}`, () => {
      if (v.error !== undefined) {
        assert.throws(
          () => evaluate(v),
          (e: unknown) => {
            assert.ok(isServiceError(e, 'SqlParseException'), `expected SqlParseException, got ${String(e)}`);
            assert.equal(e.httpStatus, 400);
            assert.match(e.message, v.error as RegExp);
            return true;
          },
        );
        return;
      }
      const r = evaluate(v);
      if (v.noMatch !== undefined) {
        assert.equal(r.matched, false, r.matched ? `unexpected output ${r.payload().toString()}` : '');
        assert.equal(r.matched ? undefined : r.clause, v.noMatch);
        return;
      }
      assert.ok(r.matched, `expected a match, got no match in ${r.matched ? '' : r.clause}`);
      if (v.bytes !== undefined) assert.deepEqual(r.payload(), v.bytes);
      if (v.text !== undefined) assert.equal(r.payload().toString('utf8'), v.text);
      if (v.out !== undefined) assert.deepStrictEqual(JSON.parse(r.payload().toString('utf8')), v.out);
    });
  }
});

describe('IoT SQL bad input outside the table', () => {
  it('refuses an unknown awsIotSqlVersion with InvalidRequestException', () => {
    assert.throws(() => compileRule("SELECT * FROM 't'", '2017-01-01'), (e: unknown) => isServiceError(e, 'InvalidRequestException'));
  });

  it('newuuid() is a random UUID per evaluation', () => {
    const rule = compileRule("SELECT newuuid() AS id FROM 't'", '2016-03-23');
    const a = rule.evaluate('t', Buffer.from('{}'), CTX);
    const b = rule.evaluate('t', Buffer.from('{}'), CTX);
    assert.ok(!(a instanceof Promise) && a.matched && !(b instanceof Promise) && b.matched);
    const ida = (a.output as { id: string }).id;
    assert.match(ida, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(ida, (b.output as { id: string }).id);
  });

  it('rand() is in [0, 1) and not folded at compile time', () => {
    const rule = compileRule("SELECT rand() AS r FROM 't'", '2016-03-23');
    const seen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const r = rule.evaluate('t', Buffer.from('{}'), CTX);
      assert.ok(!(r instanceof Promise) && r.matched);
      const x = (r.output as { r: number }).r;
      assert.ok(x >= 0 && x < 1);
      seen.add(x);
    }
    assert.ok(seen.size > 1);
  });

  it('does not mutate the shared payload object when SELECT *, x AS a.b adds to it', () => {
    const msg = prepareMessage('t', Buffer.from('{"state":{"a":1}}'), CTX);
    const first = compileRule("SELECT *, 1 AS state.flag FROM 't'", '2016-03-23').evaluateMessage(msg);
    const second = compileRule("SELECT * FROM 't'", '2016-03-23').evaluateMessage(msg);
    assert.ok(!(first instanceof Promise) && first.matched && !(second instanceof Promise) && second.matched);
    assert.deepStrictEqual(first.output, { state: { a: 1, flag: 1 } });
    assert.deepStrictEqual(second.output, { state: { a: 1 } });
  });

  it('warns about an un-aliased expression', () => {
    const rule = compileRule("SELECT upper(color) FROM 't'", '2016-03-23');
    assert.deepEqual(rule.warnings, ["SELECT item 'upper(color)' has no alias and produces no output key; add AS name"]);
  });

  it('gives RuleMatch.output as plain data (2015 Decimals as numbers, raw bytes as Buffer)', () => {
    const legacy = compileRule("SELECT 5.0 AS d FROM 't'", '2015-10-08').evaluate('t', Buffer.from('{}'), CTX);
    assert.ok(!(legacy instanceof Promise) && legacy.matched);
    assert.deepStrictEqual(legacy.output, { d: 5 });
    const raw = compileRule("SELECT * FROM 't'", '2016-03-23').evaluate('t', Buffer.from([1, 2]), CTX);
    assert.ok(!(raw instanceof Promise) && raw.matched);
    assert.deepEqual(raw.output, Buffer.from([1, 2]));
    assert.equal(raw.isJson, false);
  });
});
