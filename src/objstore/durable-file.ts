import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/**
 * fsyncs a directory so a rename or create inside it survives a crash. Filesystems that refuse fsync on a
 * directory (and a directory that cannot be opened) are tolerated: the files themselves were synced, and the
 * caller's next write meets the real problem with its own error.
 */
export async function syncDir(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // See above: a directory fsync is best effort by design.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Replaces `file` with `data` durably: writes `tmp` (default `<file>.tmp`, in the same directory), fsyncs it,
 * renames it over `file` and fsyncs the directory. A crash leaves the old content or the new, never a mix; a
 * failed write removes its temp file (on a full disk it holds the space a retry needs) and rethrows.
 */
export async function writeFileDurably(file: string, data: string | Uint8Array, tmp = `${file}.tmp`): Promise<void> {
  try {
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    // The write's error is the one to report; the temp file may not exist.
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDir(path.dirname(file));
}
