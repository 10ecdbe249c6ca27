import { readFile, readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { sample } from './host-sample.ts';
import type { HostCollector, HostSample } from './host-sample.ts';

/** `\040` and friends: the octal escapes the mounts file uses for spaces, tabs and newlines in paths. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * node_exporter's `filesystem` collector: the mounts of the host's init process (`<proc>/1/mounts`, so the
 * host's mounts from inside the DaemonSet's pod), filtered by its default mount-point and type regexes, sized
 * with statfs under the host's root (`rootfs_root`). A filesystem statfs fails on reports only
 * `node_filesystem_device_error 1`, as node_exporter does.
 */
export const filesystemCollector: HostCollector = async (env) => {
  const out: HostSample[] = [];
  const seen = new Set<string>();
  for (const line of (await readFile(path.join(env.procRoot, '1', 'mounts'), 'utf8')).split('\n')) {
    const f = line.split(' ');
    if (f.length < 4) continue;
    const device = unescapeMountField(f[0]!);
    const mountpoint = unescapeMountField(f[1]!);
    const fstype = f[2]!;
    if (env.mountPointsExclude.test(mountpoint) || env.fsTypesExclude.test(fstype)) continue;
    const key = `${device}\u0000${mountpoint}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const labels = { device, fstype, mountpoint };
    let st;
    try {
      st = await statfs(path.join(env.rootfsRoot, mountpoint));
    } catch {
      out.push(sample('node_filesystem_device_error', 'gauge', 'Whether an error occurred while getting statistics for the given device.', 1, labels));
      continue;
    }
    const readonly = f[3]!.split(',').includes('ro') ? 1 : 0;
    out.push(
      sample('node_filesystem_size_bytes', 'gauge', 'Filesystem size in bytes.', st.blocks * st.bsize, labels),
      sample('node_filesystem_free_bytes', 'gauge', 'Filesystem free space in bytes.', st.bfree * st.bsize, labels),
      sample('node_filesystem_avail_bytes', 'gauge', 'Filesystem space available to non-root users in bytes.', st.bavail * st.bsize, labels),
      sample('node_filesystem_files', 'gauge', 'Filesystem total file nodes.', st.files, labels),
      sample('node_filesystem_files_free', 'gauge', 'Filesystem total free file nodes.', st.ffree, labels),
      sample('node_filesystem_readonly', 'gauge', 'Filesystem read-only status.', readonly, labels),
      sample('node_filesystem_device_error', 'gauge', 'Whether an error occurred while getting statistics for the given device.', 0, labels),
    );
  }
  return out;
};

/** The local time zone's abbreviation (`UTC`, `CET`), as Go's `time.Now().Zone()` names it. */
function zoneName(now: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(now).find((p) => p.type === 'timeZoneName');
  return part?.value ?? 'UTC';
}

/** node_exporter's `time` collector: the clock, the zone offset, and the clock sources from sysfs. */
export const timeCollector: HostCollector = async (env) => {
  const now = new Date();
  const out: HostSample[] = [
    sample('node_time_seconds', 'gauge', 'System time in seconds since epoch (1970).', now.getTime() / 1000),
    sample('node_time_zone_offset_seconds', 'gauge', 'System time zone offset in seconds.', -now.getTimezoneOffset() * 60, { time_zone: zoneName(now) }),
  ];
  const base = path.join(env.sysRoot, 'devices', 'system', 'clocksource');
  let devices: string[] = [];
  try {
    devices = (await readdir(base)).filter((d) => /^clocksource\d+$/.test(d));
  } catch {
    // No clocksource directory (not Linux, or sysfs not mounted): node_exporter reports the clock alone too.
  }
  for (const dir of devices) {
    const device = dir.slice('clocksource'.length);
    const available = (await readFile(path.join(base, dir, 'available_clocksource'), 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean);
    for (const clocksource of available) {
      out.push(sample('node_time_clocksource_available_info', 'gauge', 'Available clocksources read from \'/sys/devices/system/clocksource\'.', 1, { clocksource, device }));
    }
    const current = (await readFile(path.join(base, dir, 'current_clocksource'), 'utf8').catch(() => '')).trim();
    if (current !== '') out.push(sample('node_time_clocksource_current_info', 'gauge', 'Current clocksource read from \'/sys/devices/system/clocksource\'.', 1, { clocksource: current, device }));
  }
  return out;
};
