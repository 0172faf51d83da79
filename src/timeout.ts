/**
 * Whether a fetch failed because its AbortSignal timed out. Checked by name, not `instanceof`:
 * fetch's DOMException may come from another realm (a test runner's VM context, a worker).
 */
export const isTimeout = (e: unknown): boolean => {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
};
