import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Labels } from '../../model/index.ts';
import { containerLogDecoder, plainLineDecoder } from './line-decoders.ts';
import type { TailTarget } from './log-tailer.ts';

/** What a pod log directory's name tells: `<namespace>_<pod>_<uid>` (neither namespaces nor pod names hold `_`). */
export interface PodDirName {
  readonly namespace: string;
  readonly pod: string;
  readonly uid: string;
}

export function parsePodDirName(name: string): PodDirName | undefined {
  const parts = name.split('_');
  if (parts.length < 3) return undefined;
  return { namespace: parts[0]!, pod: parts.slice(1, -1).join('_'), uid: parts.at(-1)! };
}

/**
 * The `app` of a pod when its labels are not known: the pod name without the suffixes its controller adds
 * (a ReplicaSet's pod-template hash and random suffix, a DaemonSet's or Job's random suffix, a StatefulSet's
 * ordinal), so every replica of a workload shares one `app`.
 */
export function appFromPodName(pod: string): string {
  const deployment = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/.exec(pod);
  if (deployment) return deployment[1]!;
  const random = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{5}$/.exec(pod);
  if (random) return random[1]!;
  const ordinal = /^(.+)-\d+$/.exec(pod);
  return ordinal ? ordinal[1]! : pod;
}

export interface LogSourceSettings {
  readonly podsDir: string;
  readonly node: string;
  readonly defaultLogSource: string;
  readonly systemLogPaths: readonly string[];
  readonly maxLineBytes: number;
  /** The pod's labels from the Kubernetes API by UID, when the agent asks the API (`pod_logs.kubernetes_api`). */
  readonly podLabels?: (uid: string) => { readonly app: string | undefined; readonly logSource: string | undefined } | undefined;
}

async function dirEntries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
}

/** A clock for lines that carry no time of their own: nanoseconds, strictly increasing, so no two lines collide. */
function lineClock(): () => bigint {
  let last = 0n;
  return () => {
    const t = BigInt(Date.now()) * 1_000_000n;
    last = t > last ? t : last + 1n;
    return last;
  };
}

/**
 * Lists what the agent tails: every `<pods_dir>/<namespace>_<pod>_<uid>/<container>/*.log` (the kubelet's
 * layout; rotated `*.log.<time>` and `.gz` files are not new targets) with labels `namespace`, `pod`,
 * `container`, `node`, `app` and `log_source` (from the pod's labels in the API when known, else from the pod name
 * and the default), and the node's system logs that exist, with `job="node/syslog"`.
 */
export function logTargetDiscovery(s: LogSourceSettings): () => Promise<TailTarget[]> {
  const now = lineClock();
  const containerDecode = containerLogDecoder(s.maxLineBytes, now);
  const plainDecode = plainLineDecoder(s.maxLineBytes, now);
  return async () => {
    const targets: TailTarget[] = [];
    for (const podDir of await dirEntries(s.podsDir)) {
      const pod = parsePodDirName(podDir);
      if (pod === undefined) continue;
      for (const container of await dirEntries(path.join(s.podsDir, podDir))) {
        const dir = path.join(s.podsDir, podDir, container);
        for (const file of await dirEntries(dir)) {
          if (!file.endsWith('.log')) continue;
          const fromApi = s.podLabels?.(pod.uid);
          const labels: Labels = {
            namespace: pod.namespace,
            pod: pod.pod,
            container,
            node: s.node,
            app: fromApi?.app ?? appFromPodName(pod.pod),
            log_source: fromApi?.logSource ?? s.defaultLogSource,
          };
          targets.push({ path: path.join(dir, file), labels, decode: containerDecode, startAtEnd: false });
        }
      }
    }
    for (const p of s.systemLogPaths) {
      const st = await stat(p).catch(() => undefined);
      if (st?.isFile() !== true) continue;
      targets.push({ path: p, labels: { job: 'node/syslog', node: s.node, filename: p }, decode: plainDecode, startAtEnd: true });
    }
    return targets;
  };
}
