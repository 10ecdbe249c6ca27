import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sample } from './host-sample.ts';
import type { HostCollector, HostEnv, HostSample } from './host-sample.ts';

/** The kernel's clock ticks per second in /proc/stat (USER_HZ, 100 on every Linux architecture node_exporter knows). */
const USER_HZ = 100;

function procFile(env: HostEnv, ...parts: string[]): Promise<string> {
  return readFile(path.join(env.procRoot, ...parts), 'utf8');
}

const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/** node_exporter's `cpu` collector: per-CPU seconds in each mode, and in guests. */
export const cpuCollector: HostCollector = async (env) => {
  const out: HostSample[] = [];
  for (const line of (await procFile(env, 'stat')).split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const cpu = m[1]!;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    CPU_MODES.forEach((mode, i) => {
      if (v[i] !== undefined) out.push(sample('node_cpu_seconds_total', 'counter', 'Seconds the CPUs spent in each mode.', v[i] / USER_HZ, { cpu, mode }));
    });
    const guest = 'Seconds the CPUs spent in guests (VMs) for each mode.';
    if (v[8] !== undefined) out.push(sample('node_cpu_guest_seconds_total', 'counter', guest, v[8] / USER_HZ, { cpu, mode: 'user' }));
    if (v[9] !== undefined) out.push(sample('node_cpu_guest_seconds_total', 'counter', guest, v[9] / USER_HZ, { cpu, mode: 'nice' }));
  }
  return out;
};

/** node_exporter's `stat` collector: boot time (uptime is `time() - node_boot_time_seconds`), context switches, forks, processes. */
export const statCollector: HostCollector = async (env) => {
  const out: HostSample[] = [];
  for (const line of (await procFile(env, 'stat')).split('\n')) {
    const [key, first] = line.split(/\s+/, 2);
    const v = Number(first);
    switch (key) {
      case 'btime':
        out.push(sample('node_boot_time_seconds', 'gauge', 'Node boot time, in unixtime.', v));
        break;
      case 'ctxt':
        out.push(sample('node_context_switches_total', 'counter', 'Total number of context switches.', v));
        break;
      case 'processes':
        out.push(sample('node_forks_total', 'counter', 'Total number of forks.', v));
        break;
      case 'intr':
        out.push(sample('node_intr_total', 'counter', 'Total number of interrupts serviced.', v));
        break;
      case 'procs_running':
        out.push(sample('node_procs_running', 'gauge', 'Number of processes in runnable state.', v));
        break;
      case 'procs_blocked':
        out.push(sample('node_procs_blocked', 'gauge', 'Number of processes blocked waiting for I/O to complete.', v));
        break;
    }
  }
  return out;
};

/** node_exporter's `meminfo`: `Active(anon): 12 kB` becomes `node_memory_Active_anon_bytes 12288`. */
export const meminfoCollector: HostCollector = async (env) => {
  const out: HostSample[] = [];
  for (const line of (await procFile(env, 'meminfo')).split('\n')) {
    const m = /^([^:]+):\s+(\d+)(?:\s+(kB))?\s*$/.exec(line);
    if (!m) continue;
    const key = m[1]!.replace(/\((.*)\)/, '_$1');
    const name = m[3] ? `node_memory_${key}_bytes` : `node_memory_${key}`;
    out.push(sample(name, 'gauge', `Memory information field ${name.slice('node_memory_'.length)}.`, Number(m[2]) * (m[3] ? 1024 : 1)));
  }
  return out;
};

export const loadavgCollector: HostCollector = async (env) => {
  const [l1, l5, l15] = (await procFile(env, 'loadavg')).trim().split(/\s+/).map(Number);
  return [
    sample('node_load1', 'gauge', '1m load average.', l1!),
    sample('node_load5', 'gauge', '5m load average.', l5!),
    sample('node_load15', 'gauge', '15m load average.', l15!),
  ];
};

/** node_exporter's `vmstat`: the fields its `--collector.vmstat.fields` regex selects, untyped. */
export const vmstatCollector: HostCollector = async (env) => {
  const out: HostSample[] = [];
  for (const line of (await procFile(env, 'vmstat')).split('\n')) {
    const [key, v] = line.split(' ');
    if (key === undefined || v === undefined || !env.vmstatFields.test(key)) continue;
    out.push(sample(`node_vmstat_${key}`, 'unknown', `/proc/vmstat information field ${key}.`, Number(v)));
  }
  return out;
};

const PRESSURE_HELP: Record<string, { some: string; full?: string }> = {
  cpu: { some: 'Total time in seconds that processes have waited for CPU time', full: 'Total time in seconds no process could make progress due to CPU congestion' },
  io: { some: 'Total time in seconds that processes have waited due to IO congestion', full: 'Total time in seconds no process could make progress due to IO congestion' },
  memory: { some: 'Total time in seconds that processes have waited for memory', full: 'Total time in seconds no process could make progress due to memory congestion' },
};

/** node_exporter's `pressure` (PSI): `total=` microseconds of the `some` and `full` lines, as seconds. */
export const pressureCollector: HostCollector = async (env) => {
  const out: HostSample[] = [];
  for (const resource of ['cpu', 'io', 'memory']) {
    let text: string;
    try {
      text = await procFile(env, 'pressure', resource);
    } catch (err) {
      // Kernels without PSI (or with it off) have no such files: node_exporter then reports nothing either.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const line of text.split('\n')) {
      const m = /^(some|full) .*total=(\d+)/.exec(line);
      if (!m) continue;
      const kind = m[1] === 'some' ? 'waiting' : 'stalled';
      const help = m[1] === 'some' ? PRESSURE_HELP[resource]!.some : PRESSURE_HELP[resource]!.full!;
      out.push(sample(`node_pressure_${resource}_${kind}_seconds_total`, 'counter', help, Number(m[2]) / 1e6));
    }
  }
  return out;
};

const NETDEV_RECEIVE = ['bytes', 'packets', 'errs', 'drop', 'fifo', 'frame', 'compressed', 'multicast'];
const NETDEV_TRANSMIT = ['bytes', 'packets', 'errs', 'drop', 'fifo', 'colls', 'carrier', 'compressed'];

/** node_exporter's `netdev`: /proc/net/dev's 16 counters per device. */
export const netdevCollector: HostCollector = async (env) => {
  const out: HostSample[] = [];
  for (const line of (await procFile(env, 'net', 'dev')).split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const device = line.slice(0, colon).trim();
    const v = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    NETDEV_RECEIVE.forEach((f, i) => out.push(sample(`node_network_receive_${f}_total`, 'counter', `Network device statistic receive_${f}.`, v[i]!, { device })));
    NETDEV_TRANSMIT.forEach((f, i) => out.push(sample(`node_network_transmit_${f}_total`, 'counter', `Network device statistic transmit_${f}.`, v[8 + i]!, { device })));
  }
  return out;
};

/** /proc/diskstats columns after the device name, as node_exporter names them (index, name, type, help, scale). */
const DISKSTATS: readonly [number, string, 'counter' | 'gauge', string, number][] = [
  [0, 'node_disk_reads_completed_total', 'counter', 'The total number of reads completed successfully.', 1],
  [1, 'node_disk_reads_merged_total', 'counter', 'The total number of reads merged.', 1],
  [2, 'node_disk_read_bytes_total', 'counter', 'The total number of bytes read successfully.', 512],
  [3, 'node_disk_read_time_seconds_total', 'counter', 'The total number of seconds spent by all reads.', 0.001],
  [4, 'node_disk_writes_completed_total', 'counter', 'The total number of writes completed successfully.', 1],
  [5, 'node_disk_writes_merged_total', 'counter', 'The number of writes merged.', 1],
  [6, 'node_disk_written_bytes_total', 'counter', 'The total number of bytes written successfully.', 512],
  [7, 'node_disk_write_time_seconds_total', 'counter', 'This is the total number of seconds spent by all writes.', 0.001],
  [8, 'node_disk_io_now', 'gauge', 'The number of I/Os currently in progress.', 1],
  [9, 'node_disk_io_time_seconds_total', 'counter', 'Total seconds spent doing I/Os.', 0.001],
  [10, 'node_disk_io_time_weighted_seconds_total', 'counter', 'The weighted # of seconds spent doing I/Os.', 0.001],
  [11, 'node_disk_discards_completed_total', 'counter', 'The total number of discards completed successfully.', 1],
  [12, 'node_disk_discards_merged_total', 'counter', 'The total number of discards merged.', 1],
  [13, 'node_disk_discarded_sectors_total', 'counter', 'The total number of sectors discarded successfully.', 1],
  [14, 'node_disk_discard_time_seconds_total', 'counter', 'This is the total number of seconds spent by all discards.', 0.001],
  [15, 'node_disk_flush_requests_total', 'counter', 'The total number of flush requests completed successfully', 1],
  [16, 'node_disk_flush_requests_time_seconds_total', 'counter', 'This is the total number of seconds spent by all flush requests.', 0.001],
];

/** node_exporter's `diskstats`: per block device (partitions and loop devices left out by its default regex). */
export const diskstatsCollector: HostCollector = async (env) => {
  const out: HostSample[] = [];
  for (const line of (await procFile(env, 'diskstats')).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const device = f[2]!;
    if (env.diskDeviceExclude.test(device)) continue;
    const v = f.slice(3).map(Number);
    for (const [i, name, type, help, scale] of DISKSTATS) {
      if (v[i] !== undefined) out.push(sample(name, type, help, v[i] * scale, { device }));
    }
  }
  return out;
};
