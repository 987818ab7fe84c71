/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`, e.g. the gateway's from
 * `BENCH_HTTP_CPU_PROF=<dir> npm run bench -- http --out <dir>`): self time by area (workspace
 * package, dependency, Node internals, GC, idle) and the functions with the most self time.
 *
 *     node benchmarks/http/profile.ts <file.cpuprofile> [top]
 *
 * @module
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Where a frame's code lives, coarsely. */
function areaOf(url: string, name: string): string {
  if (url === '') {
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') return name;
    return `(native) ${name}`;
  }
  const pkg = /\/packages\/([^/]+)\/src\/(?:([^/]+)\/)?/.exec(url);
  if (pkg) return `@tributary/${pkg[1]}${pkg[2] && !pkg[2].endsWith('.ts') ? `/${pkg[2]}` : ''}`;
  const dep = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dep) return dep[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

const [file, topArg, fromArg, toArg] = process.argv.slice(2);
if (file === undefined) {
  throw new Error('usage: node benchmarks/http/profile.ts <file.cpuprofile> [top] [from s] [to s]');
}
const top = Number(topArg ?? 40);
const from = Number(fromArg ?? 0) * 1e6;
const to = toArg === undefined ? Infinity : Number(toArg) * 1e6;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<number, number>();
/** Busy (not idle) microseconds per second of the profile: where the load phases are. */
const timeline: number[] = [];
let at = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  at += delta;
  const idle = byId.get(id)?.callFrame.functionName === '(idle)';
  const second = Math.floor(at / 1e6);
  timeline[second] = (timeline[second] ?? 0) + (idle ? 0 : delta);
  if (at >= from && at < to) self.set(id, (self.get(id) ?? 0) + delta);
});
process.stdout.write(
  `busy % per second: ${Array.from(timeline, (us, s) => `${s}:${Math.round((us ?? 0) / 1e4)}`).join(' ')}\n`,
);

const areas = new Map<string, number>();
const functions = new Map<string, number>();
let total = 0;
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const name = functionName || '(anonymous)';
  const area = areaOf(url, name);
  total += us;
  areas.set(area, (areas.get(area) ?? 0) + us);
  const where =
    url === '' ? '' : ` ${url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${lineNumber + 1}`;
  const key = `${name}${where}`;
  functions.set(key, (functions.get(key) ?? 0) + us);
}
const busy = total - (areas.get('(idle)') ?? 0);
const pct = (us: number, of: number) => `${((100 * us) / of).toFixed(1).padStart(5)} %`;
const print = (title: string, entries: Map<string, number>, n: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    process.stdout.write(`${pct(us, busy)} of busy  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}\n`);
  }
};
process.stdout.write(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (not idle)\n`,
);
print('self time by area', areas, 30);
print(`top ${top} functions by self time`, functions, top);
