// Whether the compiled build in <root>/dist can run: made (dist/build.json lists what it was made
// from), and no source file newer than it. Used by bin/folio.js at every start (a stat per source
// file, well under a millisecond).
import fs from 'node:fs';

/** @param {URL} root the repository folder (ends with a slash) */
export function buildIsCurrent(root, env = process.env) {
  if (env.FOLIO_FROM_SOURCE === '1') return false;
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(new URL('dist/build.json', root), 'utf8'));
  } catch {
    return false;
  }
  for (const file of manifest.inputs) {
    const st = fs.statSync(new URL(file, root), { throwIfNoEntry: false });
    if (!st || st.mtimeMs > manifest.builtAt) return false;
  }
  return true;
}
