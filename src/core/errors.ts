/** Narrows an unknown thrown value to a message without leaking anything but its text. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
