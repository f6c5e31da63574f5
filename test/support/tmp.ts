// Temporary folders for tests, removed when the test (or the process) ends.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TmpDir {
  /** Absolute path of the folder. */
  readonly path: string;
  /** path.join(this.path, ...parts) */
  join(...parts: string[]): string;
  /** Write a file (creating parent folders) and return its absolute path. */
  write(name: string, data: Uint8Array | string): Promise<string>;
  /** Remove the folder and everything in it (idempotent). */
  cleanup(): Promise<void>;
}

const live = new Set<string>();
let exitHook = false;

/** A fresh folder under os.tmpdir(). Call cleanup() yourself, or use tmpDirFor(t) / tmpDirForSuite(). */
export async function makeTmpDir(prefix = 'folio-test-'): Promise<TmpDir> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  live.add(dir);
  if (!exitHook) {
    exitHook = true;
    // Last resort for folders whose test forgot (or crashed before) cleanup.
    process.on('exit', () => {
      for (const d of live) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  return {
    path: dir,
    join: (...parts) => path.join(dir, ...parts),
    async write(name, data) {
      const file = path.join(dir, name);
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await fsp.writeFile(file, data);
      return file;
    },
    async cleanup() {
      live.delete(dir);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Something with node:test's `after` hook: a TestContext (`t`) or the `after` function itself. */
type HasAfter = { after(fn: () => unknown): void } | ((fn: () => unknown) => void);

/**
 * A temp folder removed when the test ends: `const dir = await tmpDirFor(t)` inside
 * `test('…', async (t) => …)`, or `await tmpDirFor(after)` (node:test's `after`) in a describe.
 */
export async function tmpDirFor(owner: HasAfter, prefix?: string): Promise<TmpDir> {
  const dir = await makeTmpDir(prefix);
  const register = typeof owner === 'function' ? owner : owner.after.bind(owner);
  register(() => dir.cleanup());
  return dir;
}
