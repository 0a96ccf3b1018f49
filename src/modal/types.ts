// Spillway's own vocabulary for the Modal side. Nothing here mentions the SDK: the adapter in
// modal-sdk.ts translates, so a change in Modal's internal API stays in one file.

/** Which Modal function backs a Spillway service. */
export interface ModalFunctionRef {
  /** Service name in Spillway's config. */
  service: string;
  appName: string;
  functionName: string;
  /** Modal environment; the SDK's profile default when absent. */
  environment?: string;
}

/** The stats reply as read from Modal, before Spillway stamps it. Optional fields may be missing. */
export interface RawFunctionStats {
  backlog: number;
  numTotalRunners: number;
  numRunningInputs?: number;
  inputHeadroom?: number;
}

/** Modal's autoscaler knobs, as `Function.update_autoscaler` takes them. Unset means "leave as is". */
export interface AutoscalerSettings {
  minContainers?: number;
  maxContainers?: number;
  bufferContainers?: number;
  /** Modal counts this in whole seconds; sub-second parts are dropped on the wire. */
  scaledownWindowMs?: number;
}

/** A looked-up Modal function: what the poller and the actuator act on. */
export interface ModalFunctionHandle {
  readonly ref: ModalFunctionRef;
  readonly functionId: string;
  /** The function's web endpoint URL, when Modal reports one. */
  readonly webUrl?: string;
  /** One stats call; must stop promptly when signal aborts. */
  currentStats(signal: AbortSignal): Promise<RawFunctionStats>;
  /** Applies settings and returns the settings Modal reports back. */
  updateAutoscaler(settings: AutoscalerSettings): Promise<AutoscalerSettings>;
}

/** Looks functions up by name. Implemented over the official SDK in modal-sdk.ts, and by stubs in tests. */
export interface ModalApi {
  lookup(ref: ModalFunctionRef): Promise<ModalFunctionHandle>;
  close(): void;
}
