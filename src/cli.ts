#!/usr/bin/env node
// The command line's entry point. It holds V8's young generation before any other module is even
// loaded (core/start-up-heap.ts: loading and linking the import graph is itself start-up's first
// long-lived allocation), then loads the command line.
import './core/hold-young-generation.js';

await import('./cli/main.js');
