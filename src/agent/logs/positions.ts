import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from '../../objstore/index.ts';

/** Where reading of one file stopped: the file's identity (device and inode) and the byte offset after the last message sent. */
export interface FilePosition {
  readonly fileId: string;
  readonly offset: number;
}

const FORMAT_VERSION = 1;

/**
 * The positions file (Promtail's `positions.yaml` role): per tailed path, the file identity and offset up to
 * which every message is durably in the forwarding queue. Saved with a durable replace (write, fsync, rename,
 * fsync the directory) after each queue commit, so after `kill -9` tailing resumes at a message boundary that
 * was sent. Format: `{"version":1,"files":{"<path>":{"fileId":"<dev>:<ino>","offset":N}}}`.
 */
export class Positions {
  private dirty = false;

  private constructor(
    private readonly file: string,
    private readonly files: Map<string, FilePosition>,
  ) {}

  /** Reads the file if it exists; a missing file is an empty set, an unreadable one an error naming it. */
  static async load(file: string): Promise<Positions> {
    await mkdir(path.dirname(file), { recursive: true });
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Positions(file, new Map());
      throw new Error(`cannot read the positions file ${file}`, { cause: err });
    }
    let doc: { version?: unknown; files?: Record<string, FilePosition> };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch (err) {
      throw new Error(`the positions file ${file} is not valid JSON (remove it to read every file from its start)`, { cause: err });
    }
    if (doc.version !== FORMAT_VERSION) throw new Error(`the positions file ${file} has version ${String(doc.version)}; this agent reads version ${FORMAT_VERSION}`);
    return new Positions(file, new Map(Object.entries(doc.files ?? {})));
  }

  get(filePath: string): FilePosition | undefined {
    return this.files.get(filePath);
  }

  set(filePath: string, pos: FilePosition): void {
    const old = this.files.get(filePath);
    if (old?.fileId === pos.fileId && old.offset === pos.offset) return;
    this.files.set(filePath, pos);
    this.dirty = true;
  }

  delete(filePath: string): void {
    if (this.files.delete(filePath)) this.dirty = true;
  }

  /** Writes the file durably when anything changed since the last save. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      await writeFileDurably(this.file, JSON.stringify({ version: FORMAT_VERSION, files: Object.fromEntries(this.files) }));
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }
}
