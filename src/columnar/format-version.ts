import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileDurably } from '../objstore/index.ts';
import { StorageFormatError } from '../storage/index.ts';

/** What `<name>.format.json` beside each database records. */
export interface FormatStamp {
  readonly name: string;
  readonly formatVersion: number;
  readonly createdBy: string;
  readonly createdAt: string;
}

/**
 * Checks (or, for a new database, writes) the format stamp. A stamp with a newer version than this build
 * writes is refused with a {@link StorageFormatError}, so an older binary never misreads newer data.
 * Returns the version found on disk (equal to `formatVersion` for a new database).
 */
export async function checkFormatStamp(dir: string, name: string, formatVersion: number, createdBy: string): Promise<number> {
  const file = path.join(dir, `${name}.format.json`);
  let text: string | undefined;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text === undefined) {
    const stamp: FormatStamp = { name, formatVersion, createdBy, createdAt: new Date().toISOString() };
    await writeFileDurably(file, `${JSON.stringify(stamp, null, 2)}\n`);
    return formatVersion;
  }
  let stamp: FormatStamp;
  try {
    stamp = JSON.parse(text) as FormatStamp;
  } catch (err) {
    throw new StorageFormatError(`${file} is not valid JSON; the data directory may be corrupt`, { cause: err });
  }
  if (typeof stamp.formatVersion !== 'number') {
    throw new StorageFormatError(`${file} has no formatVersion; the data directory may be corrupt`);
  }
  if (stamp.formatVersion > formatVersion) {
    throw new StorageFormatError(
      `${path.join(dir, name)} was written with format version ${stamp.formatVersion} (by ${stamp.createdBy}), ` +
        `newer than the ${formatVersion} this build reads; upgrade Heimdall or point --data-dir elsewhere`,
    );
  }
  return stamp.formatVersion;
}
