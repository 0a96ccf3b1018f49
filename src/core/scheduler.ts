/** Cancels a scheduled callback; calling it twice, or after the callback ran, is harmless. */
export type Cancel = () => void;

/**
 * Timers behind an interface, so the capacity controller, the pollers and the caches can be driven
 * by a virtual scheduler in tests. Real timers are unref'd: a pending timer never keeps the process alive.
 */
export interface Scheduler {
  after(ms: number, fn: () => void): Cancel;
}

export const realScheduler: Scheduler = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

/** Runs fn every ms on the given scheduler until cancelled. An overrunning async fn delays the next run. */
export function every(scheduler: Scheduler, ms: number, fn: () => void | Promise<void>): Cancel {
  let cancelled = false;
  let cancelTimer: Cancel = () => {};
  const tick = (): void => {
    if (cancelled) return;
    Promise.resolve()
      .then(fn)
      .catch(() => {})
      .finally(() => {
        if (!cancelled) cancelTimer = scheduler.after(ms, tick);
      });
  };
  cancelTimer = scheduler.after(ms, tick);
  return () => {
    cancelled = true;
    cancelTimer();
  };
}

/**
 * The call's outcome, or a rejection with timedOut()'s error once ms have passed on the scheduler
 * (so a hung call is cut even in virtual time); the call's own failure passes through as it is. The
 * call itself is not cancelled: timedOut() may abort it.
 */
export function withDeadline<T>(scheduler: Scheduler, ms: number, call: Promise<T>, timedOut: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = scheduler.after(ms, () => reject(timedOut()));
    call.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (err: unknown) => {
        cancel();
        reject(err);
      },
    );
  });
}
