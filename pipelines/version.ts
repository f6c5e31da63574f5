// folio's version, read from package.json (a module of its own: `folio --version` loads nothing else).
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * The pipeline version: part of the idempotency key (sha256, pipeline version). Bump the package
 * version when extraction output changes so that re-processing picks the change up.
 */
export const PIPELINE_VERSION = `folio@${pkg.version}`;
