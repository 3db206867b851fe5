/**
 * The connect path's memory: what the store said about a certificate id, so that a device that
 * reconnects (or a thousand that connect at once after an outage) costs one hash and one Map lookup.
 *
 * What is cached is the time-independent part of the decision (registered? status, CA status,
 * chain, validity dates, holder facts); the dates are compared with the clock on every connect, so
 * a cached certificate still expires on time. Unregistered ids are cached too, so a flood of unknown
 * certificates does not reach the store.
 *
 * Invalidation is wholesale: any certificate or CA change clears the cache and bumps `generation`.
 * Changes are rare (operator actions) and per-entry invalidation would have to know which entries a
 * CA change touches. A lookup that started before a change must not store its (possibly stale)
 * answer afterwards: callers take `generation` before reading the store and `set` drops the entry
 * when it moved. Bounded: the oldest entry goes when full (Map keeps insertion order).
 */
import type { CertificateStatus } from '../store/index.js';
import type { CertificateFacts } from './certificate-pem.js';

export type Verdict =
  | {
      readonly kind: 'registered';
      readonly status: CertificateStatus;
      readonly caCertificateId?: string;
      /** What is wrong with the CA side, when something is. */
      readonly caProblem?: 'ca-unknown' | 'ca-inactive' | 'bad-signature';
      readonly notBeforeMs: number;
      readonly notAfterMs: number;
      readonly facts: CertificateFacts;
    }
  | {
      readonly kind: 'unregistered';
      /** 'ca-unknown' when no built-in or registered CA issued it either. */
      readonly reason: 'unregistered' | 'ca-unknown';
    };

export class VerdictCache {
  readonly #entries = new Map<string, Verdict>();
  #generation = 0;

  constructor(private readonly maxEntries: number) {}

  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(certificateId: string): Verdict | undefined {
    return this.#entries.get(certificateId);
  }

  set(certificateId: string, verdict: Verdict, generation: number): void {
    if (generation !== this.#generation || this.maxEntries <= 0) return;
    if (this.#entries.size >= this.maxEntries && !this.#entries.has(certificateId)) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(certificateId, verdict);
  }

  clear(): void {
    this.#generation++;
    this.#entries.clear();
  }
}
