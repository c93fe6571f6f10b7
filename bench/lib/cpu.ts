/**
 * CPU time per process, read from /proc: what each part of the stack spent on a phase, whatever
 * else the shared machine ran meanwhile. Wall-clock figures swing with the machine's load; CPU
 * seconds per lead mostly do not, so they show which process a lead costs the most and what the
 * stack could sustain on these cores if it had them to itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_DIR, type InfraProfile, type RunningStack } from '@leadflow/testkit/stack';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of `pid` so far, or undefined when it is gone (or not on Linux). */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * The pids that make up a running stack: every service, the local servers of `profile` (when this
 * run started them: another run's pid files may be stale), and this process.
 */
export function stackPids(stack: RunningStack, profile: InfraProfile | undefined): Record<string, number> {
  const pids: Record<string, number> = {};
  for (const [name, service] of stack.services) {
    const pid = service.child().pid;
    if (pid !== undefined) pids[name] = pid;
  }
  if (profile !== undefined) {
    for (const server of ['kafka', 'temporal', 'ferretdb']) {
      const file = path.join(REPO_DIR, '.leadflow', profile, `${server}.pid`);
      if (existsSync(file)) pids[server] = Number(readFileSync(file, 'utf8').trim());
    }
  }
  pids['bench (load + observer)'] = process.pid;
  return pids;
}

export interface CpuSample {
  at: number;
  seconds: Record<string, number>;
}

export function sampleCpu(pids: Record<string, number>): CpuSample {
  const seconds: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const s = cpuSecondsOf(pid);
    if (s !== undefined) seconds[name] = s;
  }
  return { at: Date.now(), seconds };
}

export interface CpuUse {
  wallSeconds: number;
  /** CPU seconds each process spent between the samples. */
  cpuSeconds: Record<string, number>;
  totalCpuSeconds: number;
}

/** What each process spent between two samples (processes missing from either are left out). */
export function cpuBetween(before: CpuSample, after: CpuSample): CpuUse {
  const cpuSeconds: Record<string, number> = {};
  for (const [name, end] of Object.entries(after.seconds)) {
    const start = before.seconds[name];
    if (start !== undefined) cpuSeconds[name] = end - start;
  }
  return {
    wallSeconds: (after.at - before.at) / 1000,
    cpuSeconds,
    totalCpuSeconds: Object.values(cpuSeconds).reduce((a, b) => a + b, 0),
  };
}
