import type { ModalStatsSample } from '../model/inputs.js';
import type { RawFunctionStats } from './types.js';

/**
 * Turns a stats reply into a sample. num_running_inputs and input_headroom are plain proto3 scalars,
 * so "not sent" and 0 look the same on the wire. Runners with nothing running and no headroom are
 * either a server that does not fill the fields or runners that are all still cold-starting; one reply
 * cannot tell them apart, so the fields are reported absent and the capacity model counts runners,
 * discounting the ones that appeared less than a cold start ago (default policy).
 */
export function toModalStatsSample(service: string, raw: RawFunctionStats, observedAtMs: number): ModalStatsSample {
  const sample: ModalStatsSample = {
    service,
    runners: raw.numTotalRunners,
    backlog: raw.backlog,
    observedAtMs,
  };
  const unfilled = raw.numTotalRunners > 0 && raw.numRunningInputs === 0 && raw.inputHeadroom === 0;
  if (!unfilled) {
    if (raw.numRunningInputs !== undefined) sample.runningInputs = raw.numRunningInputs;
    if (raw.inputHeadroom !== undefined) sample.inputHeadroom = raw.inputHeadroom;
  }
  return sample;
}

/** How old a sample is at nowMs. */
export function sampleAgeMs(sample: ModalStatsSample, nowMs: number): number {
  return Math.max(0, nowMs - sample.observedAtMs);
}
