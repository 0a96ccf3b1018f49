// Demand traces for the simulator. Rates in rps against an in-house fleet of 800 rps at ρ = 1
// (10 hosts × 8 slots, 100 ms mean service time); the in-house target at ρ* = 0.8 is 640 rps.
import type { Trace } from './engine.js';

const HOSTS = 10;
const allHosts = (): number => HOSTS;

/** Piecewise-constant multiplicative noise, seeded, so "hovering" demand is reproducible. */
function noise(seed: number, periodS: number, amp: number): (t: number) => number {
  const vals: number[] = [];
  let x = seed;
  for (let i = 0; i < 2000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    vals.push(1 + amp * (2 * (x / 2147483648) - 1));
  }
  return (t) => vals[Math.floor(t / periodS) % vals.length]!;
}

export function traces(): Trace[] {
  const hover = noise(7, 5, 0.06);
  return [
    {
      name: 'flash-cold',
      description: '500 rps, flash crowd to 2000 rps (2.5× in-house) for 90 s at 60 s, into a cold tier with a 20 s cold start',
      durationS: 300,
      rate: (t) => (t >= 60 && t < 150 ? 2000 : 500),
      hosts: allHosts,
      stepAtS: 60,
      changesS: [60],
      params: { coldStartMeanMs: 20_000, coldStartCv: 0.2 },
    },
    {
      name: 'step-150',
      description: '500 rps, step to 1200 rps (150 % of in-house) at 60 s for 240 s',
      durationS: 420,
      rate: (t) => (t >= 60 && t < 300 ? 1200 : 500),
      hosts: allHosts,
      stepAtS: 60,
      changesS: [60],
    },
    {
      name: 'slow-ramp',
      description: '400 → 1200 rps over 300 s, hold 60 s, back down over 120 s',
      durationS: 600,
      rate: (t) =>
        t < 60 ? 400 : t < 360 ? 400 + ((t - 60) * 800) / 300 : t < 420 ? 1200 : t < 540 ? 1200 - ((t - 420) * 800) / 120 : 400,
      hosts: allHosts,
    },
    {
      name: 'flash-5x',
      description: '500 rps, 5× flash crowd (2500 rps) for 60 s at 60 s',
      durationS: 300,
      rate: (t) => (t >= 60 && t < 120 ? 2500 : 500),
      hosts: allHosts,
      stepAtS: 60,
      changesS: [60],
    },
    {
      name: 'diurnal',
      description: 'a day compressed into 720 s: 250 → 1050 → 250 rps',
      durationS: 720,
      rate: (t) => 650 - 400 * Math.cos((2 * Math.PI * t) / 720),
      hosts: allHosts,
    },
    {
      name: 'hover',
      description: 'demand hovering at the in-house target: 660 rps (ρ 0.83) ± 6 %, 5 s steps',
      durationS: 600,
      rate: (t) => 660 * hover(t),
      hosts: allHosts,
      changesS: Array.from({ length: 120 }, (_, i) => 5 * i).filter((t) => t > 0 && hover(t) > hover(t - 5)),
    },
    {
      name: 'host-loss-30',
      description: '600 rps; 3 of 10 in-house hosts lost at 60 s (capacity 800 → 560 rps)',
      durationS: 420,
      rate: () => 600,
      hosts: (t) => (t >= 60 ? 7 : 10),
      stepAtS: 60,
      changesS: [60],
    },
    {
      name: 'drain',
      description: '600 rps; a planned drain scales in-house capacity to 0.5 from 60 s to 240 s (capacity_scaler)',
      durationS: 360,
      rate: () => 600,
      hosts: allHosts,
      scaler: (t) => (t >= 60 && t < 240 ? 0.5 : 1),
      stepAtS: 60,
      changesS: [60],
    },
    {
      name: 'stats-outage',
      description: '1000 rps; Modal stats API fails from 120 s to 300 s',
      durationS: 420,
      rate: () => 1000,
      hosts: allHosts,
      statsDown: (t) => t >= 120 && t < 300,
    },
  ];
}
