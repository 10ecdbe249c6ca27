// Host metrics read from a recorded procfs/sysfs tree (lines as Linux writes them, several from node_exporter's
// own fixtures), compared with the names, labels and values node_exporter exposes for them; then one run
// against this machine's real /proc and /sys.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { agentConfigSchema } from '../../config/index.ts';
import { hostEnv } from '../node-agent.ts';
import { collectHost, hostRecords } from './host-metrics.ts';
import type { HostSample } from './host-sample.ts';

let root: string;

function put(rel: string, text: string): void {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
}

before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'heimdall-host-'));
  put('proc/stat', [
    'cpu  301854 612 111922 8979004 3552 2 3944 0 44 36',
    'cpu0 44490 19 21045 1087069 220 1 3410 0 7 3',
    'cpu1 47869 23 16474 1110787 591 0 46 0 0 0',
    'intr 8885917 17 0 0 0 0 0 0 0 1 79281 0 0 0 0 0 0 0 231237 0 0',
    'ctxt 38014093',
    'btime 1418183276',
    'processes 26442',
    'procs_running 2',
    'procs_blocked 1',
    'softirq 5057579 250191 1481983 1647 211099 186066 0 1783454 622196 12499 508444',
    '',
  ].join('\n'));
  put('proc/meminfo', 'MemTotal:       15666184 kB\nMemFree:          450036 kB\nActive(anon):    2000 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n');
  put('proc/loadavg', '0.21 0.37 0.39 1/719 19737\n');
  put('proc/vmstat', 'nr_free_pages 977769\npgfault 12345\npgmajfault 67\noom_kill 3\npswpin 0\nnr_dirty 5\n');
  put('proc/pressure/cpu', 'some avg10=0.00 avg60=0.00 avg300=0.00 total=14036781\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n');
  put('proc/pressure/io', 'some avg10=0.18 avg60=0.34 avg300=0.10 total=159886802\nfull avg10=0.18 avg60=0.17 avg300=0.04 total=159229614\n');
  put('proc/pressure/memory', 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n');
  put('proc/net/dev', [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:  435303245 1832522    0    0    0     0          0         0 435303245 1832522    0    0    0     0       0          0',
    '  eth0: 68210035552 520993275 1 2 3 4 5 6 9315587528 43451486 7 8 9 10 11 12',
    '',
  ].join('\n'));
  put('proc/diskstats', [
    '   8       0 sda 25354637 34367663 1003346126 18492372 28444756 11134226 505697032 63877960 0 9653880 82621804',
    '   8       1 sda1 250 0 2000 36 0 0 0 0 0 36 36',
    '   7       0 loop0 12 0 24 0 0 0 0 0 0 0 0',
    ' 259       0 nvme0n1 47114 4 4643973 21650 1235887 2025 65397168 2137090 0 1050100 2163440 50 0 1234 10 19 1500',
    '',
  ].join('\n'));
  mkdirSync(path.join(root, 'rootfs', 'data disk'), { recursive: true });
  put('proc/1/mounts', [
    'rootfs / rootfs rw 0 0',
    '/dev/sda1 / ext4 rw,relatime 0 0',
    'proc /proc proc rw,nosuid 0 0',
    'overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0',
    '/dev/sdb1 /data\\040disk ext4 ro,relatime 0 0',
    'tmpfs /run tmpfs rw 0 0',
    '',
  ].join('\n'));
  put('sys/devices/system/clocksource/clocksource0/available_clocksource', 'tsc hpet acpi_pm \n');
  put('sys/devices/system/clocksource/clocksource0/current_clocksource', 'tsc\n');
});

after(() => rmSync(root, { recursive: true, force: true }));

function find(samples: readonly HostSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hit = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(hit.length <= 1, `${name} ${JSON.stringify(labels)} matches ${hit.length} samples`);
  return hit[0]?.value;
}

function envFor(procRoot: string, sysRoot: string, rootfsRoot: string): ReturnType<typeof hostEnv> {
  return hostEnv(agentConfigSchema.parse({ forward: { metrics: [{ url: 'http://127.0.0.1:1/api/v1/push' }] }, host_metrics: { proc_root: procRoot, sys_root: sysRoot, rootfs_root: rootfsRoot } }));
}

test('a recorded procfs/sysfs tree gives node_exporter names, labels and values', async () => {
  const env = envFor(path.join(root, 'proc'), path.join(root, 'sys'), path.join(root, 'rootfs'));
  const all = agentConfigSchema.parse({ forward: { metrics: [{ url: 'http://127.0.0.1:1/x' }] } }).host_metrics.collectors;
  const s = await collectHost(env, all);
  for (const c of all) assert.equal(find(s, 'node_scrape_collector_success', { collector: c }), 1, `collector ${c}`);
  // cpu: USER_HZ ticks as seconds, per cpu and mode; guest time on its own.
  assert.equal(find(s, 'node_cpu_seconds_total', { cpu: '0', mode: 'idle' }), 10870.69);
  assert.equal(find(s, 'node_cpu_seconds_total', { cpu: '1', mode: 'user' }), 478.69);
  assert.equal(find(s, 'node_cpu_guest_seconds_total', { cpu: '0', mode: 'nice' }), 0.03);
  assert.equal(s.filter((x) => x.name === 'node_cpu_seconds_total').length, 16);
  // stat
  assert.equal(find(s, 'node_boot_time_seconds'), 1418183276);
  assert.equal(find(s, 'node_context_switches_total'), 38014093);
  assert.equal(find(s, 'node_forks_total'), 26442);
  assert.equal(find(s, 'node_intr_total'), 8885917);
  assert.equal(find(s, 'node_procs_running'), 2);
  assert.equal(find(s, 'node_procs_blocked'), 1);
  // meminfo
  assert.equal(find(s, 'node_memory_MemTotal_bytes'), 15666184 * 1024);
  assert.equal(find(s, 'node_memory_Active_anon_bytes'), 2000 * 1024);
  assert.equal(find(s, 'node_memory_HugePages_Total'), 0);
  assert.equal(find(s, 'node_memory_Hugepagesize_bytes'), 2048 * 1024);
  // loadavg
  assert.deepEqual([find(s, 'node_load1'), find(s, 'node_load5'), find(s, 'node_load15')], [0.21, 0.37, 0.39]);
  // vmstat: only the default fields
  assert.equal(find(s, 'node_vmstat_pgfault'), 12345);
  assert.equal(find(s, 'node_vmstat_oom_kill'), 3);
  assert.equal(find(s, 'node_vmstat_nr_free_pages'), undefined);
  // pressure
  assert.equal(find(s, 'node_pressure_cpu_waiting_seconds_total'), 14.036781);
  assert.equal(find(s, 'node_pressure_io_stalled_seconds_total'), 159.229614);
  assert.equal(find(s, 'node_pressure_memory_waiting_seconds_total'), 0);
  // netdev
  assert.equal(find(s, 'node_network_receive_bytes_total', { device: 'eth0' }), 68210035552);
  assert.equal(find(s, 'node_network_receive_multicast_total', { device: 'eth0' }), 6);
  assert.equal(find(s, 'node_network_transmit_colls_total', { device: 'eth0' }), 10);
  assert.equal(find(s, 'node_network_transmit_compressed_total', { device: 'eth0' }), 12);
  assert.equal(find(s, 'node_network_receive_packets_total', { device: 'lo' }), 1832522);
  // diskstats: partitions and loop devices are left out; sectors are 512 bytes, times milliseconds
  assert.equal(find(s, 'node_disk_read_bytes_total', { device: 'sda' }), 1003346126 * 512);
  // node_exporter multiplies by 0.001 too (its e2e output shows 9653.880000000001).
  assert.equal(find(s, 'node_disk_io_time_seconds_total', { device: 'sda' }), 9653880 * 0.001);
  assert.equal(find(s, 'node_disk_reads_completed_total', { device: 'sda1' }), undefined);
  assert.equal(find(s, 'node_disk_reads_completed_total', { device: 'loop0' }), undefined);
  assert.equal(find(s, 'node_disk_flush_requests_total', { device: 'nvme0n1' }), 19);
  assert.equal(find(s, 'node_disk_discard_time_seconds_total', { device: 'nvme0n1' }), 0.01);
  // filesystem: excluded types and mount points gone, `\040` unescaped, statfs under the rootfs, ro flag
  const st = statfsSync(path.join(root, 'rootfs', 'data disk'));
  const data = { device: '/dev/sdb1', fstype: 'ext4', mountpoint: '/data disk' };
  assert.equal(find(s, 'node_filesystem_size_bytes', data), st.blocks * st.bsize);
  assert.equal(find(s, 'node_filesystem_files', data), st.files);
  assert.equal(find(s, 'node_filesystem_readonly', data), 1);
  assert.equal(find(s, 'node_filesystem_readonly', { device: '/dev/sda1', mountpoint: '/' }), 0);
  assert.equal(find(s, 'node_filesystem_device_error', { mountpoint: '/run' }), 1);
  assert.equal(find(s, 'node_filesystem_size_bytes', { mountpoint: '/proc' }), undefined);
  assert.equal(s.filter((x) => x.labels.fstype === 'overlay').length, 0);
  // time
  assert.ok(Math.abs(find(s, 'node_time_seconds')! - Date.now() / 1000) < 60);
  assert.equal(find(s, 'node_time_clocksource_available_info', { clocksource: 'hpet', device: '0' }), 1);
  assert.equal(find(s, 'node_time_clocksource_current_info', { clocksource: 'tsc', device: '0' }), 1);

  // As records: node_exporter's job/instance, types and help as metadata.
  const rec = hostRecords(s, 1000, { job: 'node-exporter', instance: 'node-1' }).find((r) => r.labels.__name__ === 'node_load1');
  assert.deepEqual(rec, { labels: { job: 'node-exporter', instance: 'node-1', __name__: 'node_load1' }, samples: [{ timestampMs: 1000, value: 0.21 }], metadata: { type: 'gauge', help: '1m load average.', unit: '' } });
});

test('a missing file fails its collector only', async () => {
  const env = envFor(path.join(root, 'nowhere'), path.join(root, 'sys'), '/');
  const s = await collectHost(env, ['meminfo', 'time']);
  assert.equal(find(s, 'node_scrape_collector_success', { collector: 'meminfo' }), 0);
  assert.equal(find(s, 'node_scrape_collector_success', { collector: 'time' }), 1);
});

test("this machine's real /proc and /sys", { skip: process.platform !== 'linux' ? 'needs Linux procfs' : false }, async () => {
  const env = envFor('/proc', '/sys', '/');
  const s = await collectHost(env, ['cpu', 'meminfo', 'loadavg', 'stat', 'netdev', 'vmstat', 'time', 'diskstats', 'pressure', 'filesystem']);
  for (const c of ['cpu', 'meminfo', 'loadavg', 'stat', 'netdev', 'vmstat', 'time']) assert.equal(find(s, 'node_scrape_collector_success', { collector: c }), 1, c);
  assert.equal(find(s, 'node_memory_MemTotal_bytes'), os.totalmem());
  const cpus = new Set(s.filter((x) => x.name === 'node_cpu_seconds_total').map((x) => x.labels.cpu));
  assert.equal(cpus.size, os.cpus().length);
  assert.ok(Math.abs(find(s, 'node_boot_time_seconds')! - (Date.now() / 1000 - os.uptime())) < 5);
  assert.equal(find(s, 'node_network_receive_bytes_total', { device: 'lo' }) !== undefined, true);
  assert.ok(find(s, 'node_load1')! >= 0);
});
