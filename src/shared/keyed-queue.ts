/**
 * Runs tasks one at a time per key, in call order (a promise chain per key; the map forgets a key
 * once its chain is idle). The registry writes through it per thing or thing type, and the shadow
 * service per shadow, so operations on one item made through this process never race each other
 * (compare-and-set checks then only catch changes made elsewhere), while different keys run side
 * by side.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with queued or running tasks (for tests). */
  get size(): number {
    return this.#tails.size;
  }
}
