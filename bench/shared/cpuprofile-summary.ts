// Sums a .cpuprofile (profile-queries.ts --prof, node --cpu-prof) per function: self time (where the samples
// landed) and inclusive time (self plus callees, a recursive function counted once), the top N of each.
// A .heapprofile (profile-queries.ts --heap, sampled allocations) is summed the same way, in bytes allocated.
//   node --import tsx bench/shared/cpuprofile-summary.ts FILE.cpuprofile|FILE.heapprofile [N]
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The sampling heap profiler's tree: each node's sampled bytes allocated where it is the innermost frame. */
interface HeapNode {
  id: number;
  callFrame: ProfileNode['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: cpuprofile-summary.ts FILE.cpuprofile|FILE.heapprofile [N]');
const top = Number(topArg ?? 30);
const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile | { head: HeapNode };
const heap = 'head' in raw;
/** A heap profile as a CPU profile's shape: one "sample" per node weighing its bytes (in place of µs). */
function fromHeap(head: HeapNode): Profile {
  const out: Profile = { nodes: [], samples: [], timeDeltas: [] };
  const walk = (n: HeapNode): void => {
    out.nodes.push({ id: n.id, callFrame: n.callFrame, children: n.children.map((c) => c.id) });
    if (n.selfSize > 0) {
      out.samples.push(n.id);
      out.timeDeltas.push(n.selfSize / 1000); // printed as "ms" × 1000: bytes
    }
    for (const c of n.children) walk(c);
  };
  walk(head);
  return out;
}
const p = 'head' in raw ? fromHeap(raw.head) : raw;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
// Functions are named with the last two path segments (tsx reports every line as 1, so no line).
const nameOf = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}`;

const usPerNode = new Map<number, number>();
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const us = p.timeDeltas[i] ?? 0;
  usPerNode.set(p.samples[i]!, (usPerNode.get(p.samples[i]!) ?? 0) + us);
  total += us;
}
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of usPerNode) {
  const leaf = nameOf(byId.get(id)!);
  self.set(leaf, (self.get(leaf) ?? 0) + us);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const name = nameOf(byId.get(cur)!);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + us);
  }
}
const print = (title: string, m: Map<string, number>): void => {
  console.log(`--- ${title}`);
  for (const [name, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const amount = heap ? `${((us * 1000) / 1e6).toFixed(1).padStart(9)} MB` : `${(us / 1000).toFixed(1).padStart(9)} ms`;
    console.log(`${amount} ${((100 * us) / total).toFixed(1).padStart(5)} %  ${name}`);
  }
};
console.log(
  heap
    ? `${((total * 1000) / 1e6).toFixed(0)} MB allocated (sampled, collected objects included)`
    : `${(total / 1000).toFixed(0)} ms sampled (idle, the profiler's own "dispatch" and GC included)`,
);
print('self', self);
print('inclusive', inclusive);
