/**
 * The caller stopped the call through its abort signal (a worker that lost its action's lease, a
 * process shutting down). Never retried: the caller no longer wants the answer.
 */
export class CallStopped extends Error {
  constructor(message = 'stopped by its caller') {
    super(message);
    this.name = 'CallStopped';
  }
}

/** What to throw once `stop` has fired: the reason the caller gave, when it is an error. */
export const stoppedError = (stop: AbortSignal): Error => (stop.reason instanceof CallStopped ? stop.reason : new CallStopped());

export const throwIfStopped = (stop?: AbortSignal): void => {
  if (stop?.aborted) throw stoppedError(stop);
};

/**
 * Waits `ms` (through `sleep` when a test injected one) and rejects the moment `stop` fires:
 * nothing sleeps on a call its caller has given up.
 */
export async function pause(ms: number, stop?: AbortSignal, sleep?: (ms: number) => Promise<void>): Promise<void> {
  throwIfStopped(stop);
  let onStop = () => {};
  let timer: NodeJS.Timeout | undefined;
  const wait = sleep ? sleep(ms) : new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  const stopped = new Promise<never>((_, reject) => {
    onStop = () => reject(stoppedError(stop!));
    stop?.addEventListener('abort', onStop, { once: true });
  });
  try {
    await (stop ? Promise.race([wait, stopped]) : wait);
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener('abort', onStop);
  }
}
