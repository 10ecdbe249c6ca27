import fsp from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from '../objstore/index.ts';

/**
 * A JSON document kept in one file, replaced atomically and fsynced on every save (objstore's durable
 * replace). Saves are serialized and coalesced: a save asked for while one runs writes the newest value
 * once that one finishes, and its promise resolves when a write containing it is durable.
 */
export class JsonStateFile<T> {
  private writing: Promise<void> = Promise.resolve();
  private pending?: { value: () => T; done: Promise<void> };

  constructor(readonly file: string) {}

  /** The stored value, or undefined when the file does not exist yet. Throws on unreadable JSON. */
  async load(): Promise<T | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`reading ${this.file}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Saves what `value()` returns when the write starts (so coalesced saves write the newest state). */
  save(value: () => T): Promise<void> {
    if (this.pending) {
      this.pending.value = value;
      return this.pending.done;
    }
    const next = { value, done: Promise.resolve() };
    next.done = this.writing.then(async () => {
      this.pending = undefined;
      await fsp.mkdir(path.dirname(this.file), { recursive: true });
      await writeFileDurably(this.file, JSON.stringify(next.value()));
    });
    this.pending = next;
    this.writing = next.done.catch(() => undefined);
    return next.done;
  }
}
