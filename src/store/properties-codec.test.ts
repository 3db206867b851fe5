// Proves the binary properties codec returns every MessagePropertiesRecord exactly (absent fields absent, order and duplicates kept, binary intact), stays compact, and rejects corrupt input with StoreError CorruptRecord.
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import type { MessagePropertiesRecord } from './records.js';
import { decodeProperties, encodeProperties } from './properties-codec.js';
import { isStoreError } from './errors.js';
import { bytes, messageVariants } from './contract/fixtures.js';

const cases: MessagePropertiesRecord[] = [
  {},
  { payloadFormatIndicator: false },
  { payloadFormatIndicator: true },
  { contentType: '' },
  { contentType: 'x'.repeat(200) }, // a two-byte length
  { responseTopic: 'a/😀/é' },
  { correlationData: Buffer.alloc(0) },
  { correlationData: bytes(70_000, 5) }, // a three-byte length
  { userProperties: [] },
  { userProperties: [['a', '1'], ['a', '1'], ['', ''], ['ü', '😀']] },
  ...messageVariants.flatMap(([, m]) => (m.properties === undefined ? [] : [m.properties])),
];

describe('properties codec', () => {
  it('decode(encode(p)) equals p for every case', () => {
    for (const p of cases) assert.deepStrictEqual(decodeProperties(encodeProperties(p)), p);
  });

  it('is compact: two bytes for {}, the documented bytes for a small record', () => {
    assert.deepStrictEqual(encodeProperties({}), Buffer.from([1, 0]));
    assert.deepStrictEqual(
      encodeProperties({ contentType: 'a', userProperties: [['k', 'v']] }),
      Buffer.from('012401610101' + '6b0176', 'hex'),
    );
  });

  it('decoded correlationData does not alias the stored bytes', () => {
    const encoded = encodeProperties({ correlationData: Buffer.from('abc') });
    const decoded = decodeProperties(encoded);
    encoded.fill(0);
    assert.equal(decoded.correlationData?.toString(), 'abc');
  });

  it('rejects corrupt input', () => {
    const good = encodeProperties({ contentType: 'abc', userProperties: [['k', 'v']] });
    const corrupt = [
      Buffer.alloc(0),
      Buffer.from([1]),
      Buffer.from([2, 0]), // unknown version
      Buffer.from([1, 0x40]), // reserved flag
      Buffer.from([1, 0x02]), // value without presence
      good.subarray(0, good.length - 1), // truncated
      Buffer.concat([good, Buffer.from([0])]), // trailing byte
      Buffer.from([1, 0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // runaway length
    ];
    for (const buf of corrupt) {
      assert.throws(() => decodeProperties(buf), (err: unknown) => isStoreError(err, 'CorruptRecord'), buf.toString('hex'));
    }
  });
});
