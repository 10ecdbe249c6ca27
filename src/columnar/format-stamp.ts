import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileDurably } from '../objstore/index.ts';
import { StorageFormatError } from '../storage/index.ts';

/** What `<name>.format.json` in a store's directory records (docs/formats/columnar.md). */
export interface FormatStamp {
  readonly name: string;
  readonly formatVersion: number;
  readonly createdBy: string;
  readonly createdAt: string;
}

/** A stamp file an earlier build wrote in another shape, read once and replaced by the store's stamp. */
export interface LegacyStamp {
  /** The file's name in the store's directory. */
  readonly file: string;
  /** The version the file records; throws a {@link StorageFormatError} when it names another store. */
  readonly versionOf: (text: string, file: string) => number;
}

/** Which store a directory holds and the format version this build writes for it. */
export interface FormatSpec {
  /** The store's name: its stamp is `<dir>/<name>.format.json` and must name the same store. */
  readonly name: string;
  /** The format version this build writes. Data stamped with a newer one is refused. */
  readonly version: number;
  readonly legacy?: LegacyStamp;
}

/**
 * The one format-stamp mechanism of every on-disk store. Checks the stamp in `dir` before the store opens:
 * - none: a new store; the stamp is written (durably) with `spec.version`; returns undefined;
 * - another store's name, or unreadable: refused with a {@link StorageFormatError};
 * - a newer version: refused with a {@link StorageFormatError} naming both versions, so an older build never
 *   misreads newer data;
 * - an older version: returned so the store can read the older layout, and the stamp moves up to
 *   `spec.version`, because from now on this build writes the newer layout into the directory.
 * A legacy stamp file (`spec.legacy`) counts as the stamp and is replaced by it.
 */
export async function openFormatStamp(dir: string, spec: FormatSpec): Promise<number | undefined> {
  const file = path.join(dir, `${spec.name}.format.json`);
  const text = await readIfExists(file);
  let found: number | undefined;
  let createdAt: string | undefined;
  if (text !== undefined) {
    const stamp = parseStamp(text, file);
    if (stamp.name !== spec.name) {
      throw new StorageFormatError(`${file} names store "${String(stamp.name)}", not "${spec.name}"; the data directory may be corrupt`);
    }
    found = stamp.formatVersion;
    createdAt = stamp.createdAt;
  } else if (spec.legacy) {
    const legacyFile = path.join(dir, spec.legacy.file);
    const legacyText = await readIfExists(legacyFile);
    if (legacyText !== undefined) found = spec.legacy.versionOf(legacyText, legacyFile);
  }
  if (found !== undefined && found > spec.version) {
    throw new StorageFormatError(
      `${dir} was written by a newer Heimdall (${spec.name} format ${found}; this build reads up to ${spec.version}); ` +
        'upgrade Heimdall or point --data-dir at another directory',
    );
  }
  if (text === undefined || found !== spec.version) {
    const stamp: FormatStamp = { name: spec.name, formatVersion: spec.version, createdBy: 'heimdall', createdAt: createdAt ?? new Date().toISOString() };
    await writeFileDurably(file, `${JSON.stringify(stamp, null, 2)}\n`);
  }
  if (text === undefined && found !== undefined && spec.legacy) await fs.rm(path.join(dir, spec.legacy.file), { force: true });
  return found;
}

function parseStamp(text: string, file: string): FormatStamp {
  let stamp: Partial<FormatStamp>;
  try {
    stamp = JSON.parse(text) as Partial<FormatStamp>;
  } catch (err) {
    throw new StorageFormatError(`${file} is not valid JSON; the data directory may be corrupt`, { cause: err });
  }
  if (typeof stamp.formatVersion !== 'number') {
    throw new StorageFormatError(`${file} has no formatVersion; the data directory may be corrupt`);
  }
  return stamp as FormatStamp;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`reading ${file}: ${(err as Error).message}`, { cause: err });
  }
}
