/**
 * Figures for the benchmark harness: latency summaries, throughput, ratios, a plain-text table and
 * the JSON results file. Benchmarks print numbers; they never assert them (the machine is shared).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_DIR } from '@leadflow/testkit/stack';

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (ms). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarise(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The machine the figures were taken on, printed with them and written into the JSON. */
export function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverage1m: round(os.loadavg()[0] ?? 0, 2),
  };
}

/** A fixed-width table: first row is the header. */
export function table(rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? String(round(c, 2)) : c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r, ri) => {
      const line = r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
      return ri === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** Writes `bench/results/<name>.json` (git-ignored) and returns its path. */
export function writeResults(name: string, results: unknown): string {
  const dir = path.join(REPO_DIR, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** Runs `task` up to `concurrency` at a time over `items`. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls until `done()` reaches `total` or `timeoutMs` passes; with `log`, reports progress every 5 s
 * and the count it gave up at. Resolves whether the total was reached.
 */
export async function waitForCount(
  what: string,
  done: () => number,
  total: number,
  timeoutMs: number,
  log?: (line: string) => void,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let lastLog = Date.now();
  while (Date.now() < deadline) {
    if (done() >= total) return true;
    if (log !== undefined && Date.now() - lastLog > 5_000) {
      log(`  ${what}: ${done()}/${total}`);
      lastLog = Date.now();
    }
    await sleep(100);
  }
  if (done() >= total) return true;
  log?.(`  ${what}: gave up at ${done()}/${total} after ${timeoutMs / 1000} s`);
  return false;
}
