/**
 * Child processes of the benchmark: every child is spawned through here, registered by PID, and
 * killed by PID (itself and, with SIGKILL, any descendants it left) on stop, on error and on exit.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { processTree } from './load/procstat.js';

const live = new Map<number, ChildProcess>();
const tempDirs = new Set<string>();

/** Temporary directories removed on stop, or by the exit handler if the runner is interrupted. */
export function registerTempDir(dir: string): void {
  tempDirs.add(dir);
}
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Raise the open-files limit as far as allowed (10,000 idle connections need > 10,000 fds). */
const FD_LIMIT_PREFIX = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';

export function spawnTracked(cmd: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
  const viaBash = existsSync('/bin/bash');
  const child = viaBash
    ? spawn('/bin/bash', ['-c', FD_LIMIT_PREFIX, 'bench-child', cmd, ...args], opts)
    : spawn(cmd, [...args], opts);
  if (child.pid !== undefined) {
    const pid = child.pid;
    live.set(pid, child);
    child.once('exit', () => live.delete(pid));
  }
  return child;
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; descendants still alive afterwards get SIGKILL by PID. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const descendants = hasExited(child) ? [] : processTree(pid).filter((p) => p !== pid);
  if (!hasExited(child)) {
    killPid(pid, 'SIGTERM');
    if (!(await waitExit(child, graceMs))) {
      killPid(pid, 'SIGKILL');
      await waitExit(child, 2000);
    }
  }
  for (const d of descendants) killPid(d, 'SIGKILL');
  live.delete(pid);
}

/**
 * Synchronous last resort (process 'exit' handler, signals): SIGKILL every live child (and its
 * descendants) by PID, remove the temporary directories.
 */
export function killAllTrackedSync(): void {
  for (const [pid, child] of live) {
    if (hasExited(child)) continue;
    const tree = processTree(pid);
    for (const p of tree) killPid(p, 'SIGKILL');
  }
  live.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

let installed = false;
export function installExitCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllTrackedSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping children\n`);
      killAllTrackedSync();
      process.exit(130);
    });
  }
}
