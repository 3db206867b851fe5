// Proves the signal handling: the first signal closes the server and exits 0, a failed close exits
// 1, and a second signal exits 1 at once without waiting for the close.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { pino } from 'pino';
import { installShutdownHandlers } from './index.js';

const logger = pino({ level: 'silent' });

function waitFor(predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = (): void => (predicate() ? resolve() : void setTimeout(poll, 5));
    poll();
  });
}

describe('shutdown', () => {
  it('closes the server on the first signal and exits 0', async () => {
    const exits: number[] = [];
    let closes = 0;
    const remove = installShutdownHandlers(
      { close: async () => void closes++ },
      { logger, exit: (code) => exits.push(code), signals: ['SIGUSR2'] },
    );
    try {
      process.kill(process.pid, 'SIGUSR2');
      await waitFor(() => exits.length > 0);
      assert.equal(closes, 1);
      assert.deepEqual(exits, [0]);
    } finally {
      remove();
    }
  });

  it('exits 1 when the close fails', async () => {
    const exits: number[] = [];
    const remove = installShutdownHandlers(
      { close: () => Promise.reject(new Error('store would not close')) },
      { logger, exit: (code) => exits.push(code), signals: ['SIGUSR2'] },
    );
    try {
      process.kill(process.pid, 'SIGUSR2');
      await waitFor(() => exits.length > 0);
      assert.deepEqual(exits, [1]);
    } finally {
      remove();
    }
  });

  it('a second signal forces exit 1 while the close hangs', async () => {
    const exits: number[] = [];
    let closes = 0;
    const remove = installShutdownHandlers(
      { close: () => new Promise<void>(() => void closes++) },
      { logger, exit: (code) => exits.push(code), signals: ['SIGUSR2'] },
    );
    try {
      process.kill(process.pid, 'SIGUSR2');
      await waitFor(() => closes === 1);
      process.kill(process.pid, 'SIGUSR2');
      await waitFor(() => exits.length > 0);
      assert.deepEqual(exits, [1]);
      assert.equal(closes, 1);
    } finally {
      remove();
    }
  });
});
