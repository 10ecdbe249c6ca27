import fs from 'node:fs';
import path from 'node:path';

/** Bytes a directory occupies on disk (allocated blocks, so sparse files such as badger's value logs count as stored). */
export function allocatedBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += allocatedBytes(p);
    else if (e.isFile()) total += fs.statSync(p).blocks * 512;
  }
  return total;
}
