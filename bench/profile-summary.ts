/**
 * Summarises V8 CPU profiles of the services (`node --cpu-prof`, e.g. a pipeline benchmark run with
 * LEADFLOW_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"): per service, busy CPU seconds by
 * package (self time) and the first-party functions with the most time under them.
 *
 *   node --import tsx bench/profile-summary.ts /tmp/prof [--top 15]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '12' } },
});
const dir = positionals[0];
if (dir === undefined) {
  process.stderr.write('usage: bench/profile-summary.ts <dir of .cpuprofile files> [--top N]\n');
  process.exit(2);
}
const top = Number(values.top);
const seconds = (micros: number) => (micros / 1e6).toFixed(2).padStart(6);

/** Where a frame's code lives: an npm package, a workspace package or service, or node itself. */
function packageOf(frame: ProfileNode['callFrame']): string {
  const npm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (npm) return npm[1]!;
  const ours = /\/(services\/[\w-]+|packages\/[\w-]+)\//.exec(frame.url);
  if (ours && !frame.url.includes('node_modules')) return ours[1]!;
  if (frame.url.startsWith('node:')) return frame.url.split('/').slice(0, 2).join('/');
  return frame.url === '' ? frame.functionName || '(native)' : frame.url;
}

function summarise(file: string): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );

  const service =
    profile.nodes
      .map((n) => /services\/([\w-]+)\/src\/main\.ts/.exec(n.callFrame.url)?.[1])
      .find((s) => s !== undefined) ?? path.basename(file);
  const byPackage = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  for (const [id, t] of selfTime) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    busy += t;
    const pkg = packageOf(node.callFrame);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + t);
    const counted = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      if (!/\/(services|packages)\//.test(frame.url) || frame.url.includes('node_modules')) continue;
      // By name and file: under tsx the profile's line numbers are those of the transpiled code.
      const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*?\/(services|packages)\//, '$1/')}`;
      if (counted.has(key)) continue;
      counted.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
  }
  const wall = (profile.endTime - profile.startTime) / 1e6;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `== ${service}: busy ${(busy / 1e6).toFixed(1)} s of ${wall.toFixed(1)} s`,
    '   self time by package:',
    ...sorted(byPackage).map(
      ([k, v]) => `   ${seconds(v)} s ${((100 * v) / busy).toFixed(0).padStart(3)} %  ${k}`,
    ),
    '   first-party functions, time under them (async work the driver does later is not under them):',
    ...sorted(inclusive).map(([k, v]) => `   ${seconds(v)} s  ${k}`),
    '',
  ].join('\n');
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  process.stdout.write(`${summarise(path.join(dir, file))}\n`);
}
