// The command-line options every fan-out measurement takes (npm run bench:fanout, npm run
// bench:compare): what to run, how often, and whether to rewrite BENCHMARKS.md.
export const FANOUT_OPTIONS = {
  sizes: { type: 'string', default: '100,1000,5000' },
  protocols: { type: 'string', default: 'sotw,delta' },
  runs: { type: 'string', default: '3' },
  pushes: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '5' },
  services: { type: 'string', default: '10' },
  'per-channel': { type: 'string', default: '100' },
  'open-rate': { type: 'string', default: '1000' },
  'no-md': { type: 'boolean', default: false },
  note: { type: 'string', multiple: true, default: [] as string[] },
} as const;
