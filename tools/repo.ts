import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory, for code that reads the files a user gets (README, envoy/, compose/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
