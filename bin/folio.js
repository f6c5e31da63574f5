#!/usr/bin/env node
// folio is written in TypeScript and runs through tsx's loader: no build step after npm install.
import { register } from 'tsx/esm/api';

globalThis.__folioTsx = true;
register();
await import('../cli/main.ts');
