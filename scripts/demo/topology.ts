// The demo topology's knobs, shared by `npm run demo` and checked against docker-compose.yml by a
// test, so the native demo and the compose stack cannot drift apart.

/** Fake Modal simulation flags (besides ports and PKI). */
export const FAKE_MODAL_FLAGS: readonly string[] = ['--cold-start-ms', '3000', '--target-inputs', '3', '--scaledown-window-s', '20'];

/** In-house backend flags (besides ports): slots come from each endpoint's capacity in the config. */
export const BACKEND_FLAGS: readonly string[] = ['--queue', '64', '--service-ms', '200', '--service-cv', '0.3'];

/** Load generator flags (besides the URL and output). */
export const LOADGEN_FLAGS: readonly string[] = ['--path', '/work?ms=200', '--scenario', 'ramp-burst-drain', '--seed', '7'];
export const LOADGEN_DEFAULTS = { durationS: 90, baseRps: 40, peakRps: 220 } as const;

/** Ports of the fake Modal besides its HTTPS web side (which the config's modal.url names). */
export const FAKE_MODAL_CONTROL_PORT = 18444;
export const FAKE_MODAL_HTTP_PORT = 18445;
