// One wall clock for every stamp: sub-millisecond and monotonic within the process, on the same
// epoch as Date.now() so it lines up with Spillway's own atMs fields.
export const nowMs = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
