/**
 * How a backend's test hands its stores to the contract suites, and the helper that gives each test a
 * fresh store and destroys it afterwards (aedes-persistence's habit).
 */
import type { Store } from '../interfaces.js';

export interface StoreContractFactory {
  /** Shown in the suite names, e.g. 'SQLite :memory:'. */
  readonly name: string;
  /** A new, empty store. */
  create(): Promise<Store>;
  /** Closes the store (it may be closed already) and removes whatever create() made. */
  destroy(store: Store): Promise<void>;
  /**
   * For durable backends: closes `store` and opens the same data again; destroy() is then called with
   * the store this returns. Absent for backends without durability (the reopen checks are skipped).
   */
  reopen?(store: Store): Promise<Store>;
  /** When set, every suite for this factory is skipped with this reason (e.g. 'PG_URL is not set'). */
  readonly skip?: string;
}

export interface StoreTestContext {
  /** The current store (replaced by reopen()). */
  readonly store: Store;
  /** Closes the store and opens the same data again (factory.reopen). */
  reopen(): Promise<Store>;
}

/** Runs `body` with a fresh store from `factory`, and destroys it afterwards whatever happens. */
export async function withStore(
  factory: StoreContractFactory,
  body: (ctx: StoreTestContext) => Promise<void>,
): Promise<void> {
  let store = await factory.create();
  const ctx: StoreTestContext = {
    get store() {
      return store;
    },
    async reopen() {
      if (factory.reopen === undefined) throw new Error(`${factory.name}: the factory has no reopen()`);
      store = await factory.reopen(store);
      return store;
    },
  };
  try {
    await body(ctx);
  } finally {
    await factory.destroy(store);
  }
}

/** The `skip` option for node:test: the factory's reason, or false. */
export function skipOption(factory: StoreContractFactory): string | false {
  return factory.skip ?? false;
}
