// The fake Modal as its own process (demo, docker-compose). Prints one JSON line with its URLs on stdout
// once every listener is up, then runs until SIGINT/SIGTERM.
//
//   tsx tools/fake-modal/main.ts --control-port 9090 --http-port 8080 --https-port 8443 \
//     --function shop-app/web --cold-start-ms 2000 --max-inputs 4 --target-inputs 2 --pki-dir /pki
//
// Every flag also reads from FAKE_MODAL_<FLAG_IN_UPPER_SNAKE_CASE> (e.g. FAKE_MODAL_HTTPS_PORT).
import { parseArgs } from 'node:util';
import { ensurePki } from '../pki.js';
import type { EndpointMode } from './autoscaler-sim.js';
import type { FakeFunctionSpec } from './fake-modal-state.js';
import { startFakeModal, type FakeModalOptions } from './start-fake-modal.js';

const FLAGS = {
  host: { type: 'string' },
  'control-port': { type: 'string' },
  'http-port': { type: 'string' },
  'https-port': { type: 'string' },
  /** "app/function"; repeatable. All functions share the sizing flags below. */
  function: { type: 'string', multiple: true },
  mode: { type: 'string' },
  'cold-start-ms': { type: 'string' },
  'max-inputs': { type: 'string' },
  'target-inputs': { type: 'string' },
  'min-containers': { type: 'string' },
  'max-containers': { type: 'string' },
  'buffer-containers': { type: 'string' },
  'scaledown-window-s': { type: 'string' },
  'redirect-after-ms': { type: 'string' },
  /** Workspace web request rate limit: requests per second and burst multiple (Modal: 200, 5). */
  'rate-limit-rps': { type: 'string' },
  'rate-limit-burst': { type: 'string' },
  'default-service-ms': { type: 'string' },
  /** When both are set, the control side only accepts these credentials. */
  'token-id': { type: 'string' },
  'token-secret': { type: 'string' },
  /** Extra certificate DNS names, comma-separated (e.g. the compose service name). */
  'tls-names': { type: 'string' },
  /** Directory holding ca.pem, server.pem, server.key; created (and filled) when missing. */
  'pki-dir': { type: 'string' },
} as const;

type FlagName = keyof typeof FLAGS;

function main(): Promise<void> {
  const { values } = parseArgs({ options: FLAGS, strict: true });
  const get = (name: FlagName): string | undefined => {
    const v = values[name];
    if (typeof v === 'string') return v;
    return process.env[`FAKE_MODAL_${name.toUpperCase().replace(/-/g, '_')}`];
  };
  const num = (name: FlagName): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${v}'`);
    return n;
  };

  const names = (values.function as string[] | undefined) ?? get('function')?.split(',') ?? ['spillway-demo/web'];
  const mode = get('mode');
  if (mode !== undefined && mode !== 'function' && mode !== 'http-server') throw new Error("--mode must be 'function' or 'http-server'");
  const sizing: Partial<FakeFunctionSpec> = {};
  const put = <K extends keyof FakeFunctionSpec>(k: K, v: FakeFunctionSpec[K] | undefined): void => {
    if (v !== undefined) sizing[k] = v;
  };
  put('mode', mode as EndpointMode | undefined);
  put('coldStartMs', num('cold-start-ms'));
  put('maxInputs', num('max-inputs'));
  put('targetInputs', num('target-inputs'));
  put('minContainers', num('min-containers'));
  put('maxContainers', num('max-containers'));
  put('bufferContainers', num('buffer-containers'));
  const window = num('scaledown-window-s');
  put('scaledownWindowMs', window === undefined ? undefined : window * 1000);
  const functions = names.map((n) => {
    const [appName, functionName] = n.split('/', 2);
    if (!appName || !functionName) throw new Error(`--function must be app/function, got '${n}'`);
    return { ...sizing, appName, functionName };
  });

  const opts: FakeModalOptions = { functions, host: get('host') ?? '127.0.0.1' };
  const setNum = (k: 'controlPort' | 'httpPort' | 'httpsPort' | 'redirectAfterMs' | 'defaultServiceMs', flag: FlagName): void => {
    const v = num(flag);
    if (v !== undefined) opts[k] = v;
  };
  setNum('controlPort', 'control-port');
  setNum('httpPort', 'http-port');
  setNum('httpsPort', 'https-port');
  setNum('redirectAfterMs', 'redirect-after-ms');
  setNum('defaultServiceMs', 'default-service-ms');
  const rps = num('rate-limit-rps');
  const burst = num('rate-limit-burst');
  if (rps !== undefined || burst !== undefined) opts.rateLimit = { rps: rps ?? 200, burst: Math.max(1, burst ?? 5) };
  const tokenId = get('token-id');
  const tokenSecret = get('token-secret');
  if (tokenId && tokenSecret) opts.credentials = { tokenId, tokenSecret };
  const tlsNames = get('tls-names')?.split(',').filter(Boolean) ?? [];
  const pkiDir = get('pki-dir');
  if (pkiDir) {
    const pki = ensurePki(pkiDir, ['localhost', ...tlsNames]);
    if (pki.renewed) process.stderr.write(`fake-modal: made a new throwaway PKI in ${pkiDir} (${pki.renewed})\n`);
    opts.tls = pki;
  } else opts.tlsNames = tlsNames;

  return startFakeModal(opts).then((fake) => {
    process.stdout.write(
      `${JSON.stringify({
        controlUrl: fake.controlUrl,
        httpUrl: fake.httpUrl,
        httpsUrl: fake.httpsUrl,
        caPath: fake.caPath,
        functions: fake.state().functions.map((f) => ({ appName: f.appName, functionName: f.functionName, functionId: f.functionId })),
      })}\n`,
    );
    const stop = (): void => {
      void fake.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // Real timers are unref'd; keep the process alive until a signal arrives.
    setInterval(() => {}, 1 << 30);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-modal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
