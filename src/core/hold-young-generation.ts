// Imported first by an entry point (src/cli.ts), before any other module loads, so the young
// generation does not grow on start-up's long-lived objects (start-up-heap.ts). startSpillway
// releases it once serving.
import { holdYoungGeneration } from './start-up-heap.js';

holdYoungGeneration();
