// Proves the resource glob matcher agrees with a reference regular expression on every pattern shape (exact, prefix, affix, general) over thousands of random patterns and strings, treats literal tokens literally, and counts a surrogate pair as one character for `?`.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { compileGlob, globMatches, globToRegExp, ONE, residualGlobs, STAR, tokenizePattern } from './glob.js';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('glob', () => {
  it('agrees with the reference RegExp on random patterns', () => {
    const rnd = random(42);
    const alphabet = ['a', 'b', '/', '+', '#', ':'];
    const pick = (xs: readonly string[]): string => xs[Math.floor(rnd() * xs.length)]!;
    const word = (n: number, xs: readonly string[]): string => Array.from({ length: Math.floor(rnd() * n) }, () => pick(xs)).join('');
    let checked = 0;
    for (let i = 0; i < 3000; i++) {
      const pattern = word(8, [...alphabet, '*', '?']);
      const g = compileGlob(tokenizePattern(pattern));
      const re = globToRegExp(pattern);
      for (let j = 0; j < 5; j++) {
        const s = word(10, alphabet);
        assert.equal(globMatches(g, s), re.test(s), `${pattern} vs ${s}`);
        checked++;
      }
    }
    assert.equal(checked, 15000);
  });

  it('residuals after a fixed prefix decide exactly as the whole pattern does', () => {
    const rnd = random(7);
    const alphabet = ['a', 'b', ':', '/'];
    const pick = (xs: readonly string[]): string => xs[Math.floor(rnd() * xs.length)]!;
    const word = (n: number, xs: readonly string[]): string => Array.from({ length: Math.floor(rnd() * n) }, () => pick(xs)).join('');
    for (let i = 0; i < 2000; i++) {
      const prefix = word(6, alphabet);
      const pattern = word(10, [...alphabet, '*', '?']);
      const g = compileGlob(tokenizePattern(pattern));
      const rs = residualGlobs(g, prefix);
      for (let j = 0; j < 5; j++) {
        const name = word(8, alphabet);
        assert.equal(rs.some((r) => globMatches(r, name)), globMatches(g, prefix + name), `${pattern} after ${prefix} vs ${name}`);
      }
    }
    const arn = compileGlob(tokenizePattern('arn:aws:iot:*:*:client/dev1'));
    assert.deepEqual(residualGlobs(arn, 'arn:aws:iot:us-east-1:123:client/').map((r) => r.tokens), [[STAR, ':', STAR, ':client/dev1'], [STAR, ':client/dev1'], ['dev1']]);
    assert.deepEqual(residualGlobs(compileGlob(tokenizePattern('arn:aws:iot:us-east-1:123:topic/a/*')), 'arn:aws:iot:us-east-1:123:client/'), []);
  });

  it('classifies the common shapes and still matches them exactly', () => {
    const cases: [string, string, boolean][] = [
      ['*', '', true],
      ['arn:x', 'arn:x', true],
      ['arn:x', 'arn:xy', false],
      ['arn:x/*', 'arn:x/', true],
      ['arn:x/*', 'arn:x', false],
      ['arn:x/*/end', 'arn:x/end', false],
      ['arn:x/*/end', 'arn:x//end', true],
      ['a*a', 'a', false],
      ['a*a', 'aa', true],
      ['*a*b*', 'xxaxxbxx', true],
      ['*a*b*', 'xxbxxaxx', false],
    ];
    for (const [p, s, want] of cases) assert.equal(globMatches(compileGlob(tokenizePattern(p)), s), want, `${p} vs ${s}`);
  });

  it('keeps literal tokens literal and displays them unambiguously', () => {
    const g = compileGlob(['topic/', '*', STAR, '?', ONE]);
    assert.equal(globMatches(g, 'topic/*xyz?q'), true);
    assert.equal(globMatches(g, 'topic/xyz?q'), false);
    assert.equal(g.display, 'topic/${*}*${?}?');
  });

  it('counts a surrogate pair as one character', () => {
    const g = compileGlob(tokenizePattern('emoji/?'));
    assert.equal(globMatches(g, 'emoji/😀'), true);
    assert.equal(globMatches(compileGlob(tokenizePattern('emoji/??')), 'emoji/😀'), false);
  });

  it('stays linear-ish on hostile input', () => {
    const g = compileGlob(tokenizePattern('*a*a*a*a*a*a*a*a*b'));
    const s = 'a'.repeat(5000);
    const t0 = performance.now();
    assert.equal(globMatches(g, s), false);
    assert.ok(performance.now() - t0 < 500);
  });
});
