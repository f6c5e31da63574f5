#!/usr/bin/env node
// The `folio` command. It runs the compiled build (dist/, made by `npm install` or `npm run build`)
// and starts in a fraction of the time TypeScript compiled at start-up takes. When a source file
// is newer than the build (someone is editing folio), or FOLIO_FROM_SOURCE=1, it runs the
// TypeScript sources through tsx instead, so that a change is never hidden by a stale build.
import { buildIsCurrent } from './build-state.mjs';

if (buildIsCurrent(new URL('../', import.meta.url))) {
  await import('../dist/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  globalThis.__folioTsx = true;
  register();
  await import('../cli/main.ts');
}
