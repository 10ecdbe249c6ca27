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
  await publishFileDurably(
    file,
    async (t) => {
      const fh = await fsp.open(t, 'w');
      try {
        await fh.writeFile(data);
      } finally {
        await fh.close();
      }
    },
    tmp,
  );
}

/**
 * Publishes a file another writer produces (DuckDB's `COPY ... TO`, a segment writer): `write(tmp)` creates
 * `tmp` (default `<file>.tmp`, same directory), which is then fsynced, renamed over `file`, and the directory
 * fsynced. Once this resolves the file survives a crash; before, a crash leaves at most the temp file (the
 * owner's orphan sweep removes it). A failure removes the temp file (on a full disk it holds the space a
 * retry needs) and rethrows.
 */
export async function publishFileDurably(file: string, write: (tmp: string) => Promise<void>, tmp = `${file}.tmp`): Promise<void> {
  try {
    await write(tmp);
    const fh = await fsp.open(tmp, 'r+');
    try {
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
