/**
 * Runs tasks one at a time per key, in call order (a promise chain per key; a key is forgotten once
 * its chain is idle). The shadow service queues every operation on one shadow behind the previous
 * one, so updates to a shadow are applied in arrival order and never race; different shadows run
 * side by side. (registry/ has the same helper; a room does not import another room's insides.)
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

  /** Keys with queued or running tasks. */
  get size(): number {
    return this.#tails.size;
  }
}
