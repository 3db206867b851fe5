/**
 * CPU time and resident memory of a process and its descendants, read from /proc (Linux only).
 * The generator uses these to compare its own CPU time (process.cpuUsage()) with the broker's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

// USER_HZ, the unit of /proc times. Read once when this module loads (spawning getconf later would
// stall the event loop in the middle of a measurement).
const CLOCK_TICKS: number = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
const ticksPerSecond = (): number => CLOCK_TICKS;

interface StatLine {
  ppid: number;
  /** utime + stime in clock ticks */
  ticks: number;
}

function readStat(pid: number): StatLine | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may contain spaces and parentheses: fields after the last ')' start at field 3.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return { ppid, ticks: utime + stime };
}

/** pid and all its descendants (scans /proc once). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [pid];
  }
  for (const e of entries) {
    const c = e.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const p = Number(e);
    const st = readStat(p);
    if (st === null) continue;
    let list = children.get(st.ppid);
    if (list === undefined) children.set(st.ppid, (list = []));
    list.push(p);
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    for (const ch of children.get(p) ?? []) stack.push(ch);
  }
  return out;
}

/** CPU seconds (user + system) consumed so far by pid and its live descendants. */
export function cpuSecondsOfTree(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) ticks += readStat(p)?.ticks ?? 0;
  return ticks / ticksPerSecond();
}

/** VmRSS in bytes of one process (0 if unreadable). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** VmRSS in bytes of pid and its live descendants. */
export function rssBytesOfTree(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) sum += rssBytes(p);
  return sum;
}

/** Generator's own CPU seconds (user + system, all threads). */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * CPU seconds of the whole machine so far, from /proc/stat: `tasks` = user + nice + system + steal,
 * `irq` = irq + softirq (kernel network processing, mostly: the loopback traffic of the benchmark
 * shows up there; per-process utime/stime include the softirq time spent in their context).
 */
export function systemCpuSeconds(): { tasks: number; irq: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is included in user/nice)
    const t = ticksPerSecond();
    return {
      tasks: ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[7] ?? 0)) / t,
      irq: ((f[5] ?? 0) + (f[6] ?? 0)) / t,
    };
  } catch {
    return { tasks: 0, irq: 0 };
  }
}

/** All busy CPU seconds of the machine so far (tasks + irq). */
export function systemBusySeconds(): number {
  const s = systemCpuSeconds();
  return s.tasks + s.irq;
}

/** A TcpExt counter from /proc/net/netstat (system-wide), e.g. ListenOverflows; -1 if unreadable. */
export function tcpExtCounter(name: string): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = (lines[i] ?? '').trim().split(/\s+/);
      const values = (lines[i + 1] ?? '').trim().split(/\s+/);
      if (names[0] !== 'TcpExt:') continue;
      const k = names.indexOf(name);
      if (k > 0) return Number(values[k]);
    }
  } catch {
    // not Linux
  }
  return -1;
}
