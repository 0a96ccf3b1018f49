// Imported alone by an entry point (src/cli.ts), which loads everything else with import() after it:
// loading and linking the import graph is start-up's first long-lived allocation, and the young
// generation must not grow on it (start-up-heap.ts). startSpillway releases it when the first Envoy
// connects; the CLI's other verbs at once.
import { holdYoungGeneration } from './start-up-heap.js';

holdYoungGeneration();
