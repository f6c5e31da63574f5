// Content-addressed blob store on the filesystem: original files and rendered page images are
// stored once under their sha256 (the claim check), whatever the database back end.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class BlobStore {
  constructor(readonly dir: string) {}

  pathOf(key: string): string {
    if (!/^[0-9a-f]{64}(\.[a-z0-9]{1,8})?$/.test(key)) throw new Error(`bad blob key ${key}`);
    return path.join(this.dir, key.slice(0, 2), key);
  }

  /** Store bytes under their sha256 (plus an extension for the content type); returns the key. */
  async put(bytes: Uint8Array, contentType = 'application/octet-stream'): Promise<string> {
    const key = sha256(bytes) + extensionOf(contentType);
    const file = this.pathOf(key);
    if (fs.existsSync(file)) return key;
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    // Write then rename: concurrent writers of the same blob never expose a partial file.
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await fs.promises.writeFile(tmp, bytes);
    await fs.promises.rename(tmp, file);
    return key;
  }

  async get(key: string): Promise<Buffer> {
    return fs.promises.readFile(this.pathOf(key));
  }
}

function extensionOf(contentType: string): string {
  const map: Record<string, string> = {
    'application/pdf': '.pdf',
    'image/png': '.png',
    'image/jpeg': '.jpg',
    'image/webp': '.webp',
    'image/tiff': '.tif',
    'image/gif': '.gif',
  };
  return map[contentType] ?? '';
}
