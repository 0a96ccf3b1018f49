// Samples what Envoy runs for a cluster, from its admin config_dump, every few hundred ms: the Modal
// share its locality weights describe, the Modal endpoint's health and address, the drop percentage.
// What Envoy runs is the judge, not what Spillway says it published.
import {
  loadAssignment,
  runningDropPercent,
  runningLocalities,
  runningModalShare,
  type ConfigDump,
} from '../../tools/envoy/config-dump.js';
import type { EnvoyHandle } from '../../tools/envoy/envoy-process.js';

export interface ShareSample {
  atMs: number;
  /** Modal weight over the weights of both localities (0 when the Modal locality is absent). */
  share: number;
  modalHealth: string | undefined;
  /** The Modal endpoint's address as Envoy has it. */
  modalAddress: string | undefined;
  dropPercent: number;
}

export interface ShareMonitor {
  samples(): readonly ShareSample[];
  /** Samples taken in [fromMs, toMs). */
  between(fromMs: number, toMs?: number): ShareSample[];
  latest(): ShareSample | undefined;
  /** The Envoy to read (after a restart of Envoy). */
  watch(envoy: EnvoyHandle): void;
  stop(): void;
}

export function monitorShare(envoy: EnvoyHandle, cluster: string, everyMs = 200): ShareMonitor {
  const samples: ShareSample[] = [];
  let current = envoy;
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const started = Date.now();
      try {
        const dump = await current.configDump('?include_eds');
        samples.push(sampleOf(dump, cluster, started));
      } catch {
        // Envoy restarting: no sample.
      }
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - started))));
    }
  };
  void loop();
  return {
    samples: () => samples,
    between: (fromMs, toMs = Infinity) => samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs),
    latest: () => samples.at(-1),
    watch: (e) => {
      current = e;
    },
    stop: () => {
      stopped = true;
    },
  };
}

function sampleOf(dump: ConfigDump, cluster: string, atMs: number): ShareSample {
  const modal = runningLocalities(dump, cluster).get('modal');
  const cla = loadAssignment(dump, cluster) as
    | {
        endpoints?: Array<{
          locality?: { zone?: string };
          lb_endpoints?: Array<{ endpoint?: { address?: { socket_address?: { address?: string } } } }>;
        }>;
      }
    | undefined;
  const modalAddress = cla?.endpoints?.find((l) => l.locality?.zone === 'modal')?.lb_endpoints?.[0]?.endpoint?.address?.socket_address
    ?.address;
  return {
    atMs,
    share: runningModalShare(dump, cluster),
    modalHealth: modal?.health,
    modalAddress,
    dropPercent: runningDropPercent(dump, cluster),
  };
}
