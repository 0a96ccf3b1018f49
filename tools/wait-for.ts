/** Polls cond until it returns truthy (or throws to abort); rejects after timeoutMs naming what it waited for. */
type Truthy<T> = Exclude<T, undefined | null | false | 0 | ''>;

export async function waitFor<T>(
  cond: () => T | Promise<T>,
  timeoutMs: number,
  what: string | (() => string),
  everyMs = 50,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as Truthy<T>;
    } catch (err) {
      if (err instanceof Error && /^(envoy|etcd|spillway serve) exited/.test(err.message)) throw err;
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}${lastErr ? ` (last error: ${String(lastErr)})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
