// Entry of an extraction worker thread: load TypeScript through tsx, then the worker proper.
import { register } from 'tsx/esm/api';

if (!globalThis.__folioTsx) {
  globalThis.__folioTsx = true;
  register();
}
await import('./thread-main.ts');
