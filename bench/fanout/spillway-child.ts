// The benchmark's child process entry point: as src/cli.ts (the production entry this child stands in
// for), it holds V8's young generation before any other module loads, then loads the child itself.
// Run with: node --expose-gc --import tsx bench/fanout/spillway-child.ts [services]
import '../../src/core/hold-young-generation.js';

await import('./spillway-child-main.js');
