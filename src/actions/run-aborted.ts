import { setTimeout as delay } from 'node:timers/promises';

/**
 * The worker stopped the run: another Vigil process took its action over when this one's lease
 * ran out. Final for this process and never retried by it: the action is no longer ours.
 */
export class RunAborted extends Error {
  constructor() {
    super('stopped: another Vigil process took this action over');
    this.name = 'RunAborted';
  }
}

/** Called before each upstream call, so that none starts once the run is stopped. */
export const throwIfStopped = (stop?: AbortSignal): void => {
  if (stop?.aborted) throw new RunAborted();
};

/** The signal for one call: its own timeout, and the run's stop when there is one. */
export const callSignal = (timeoutMs: number, stop?: AbortSignal): AbortSignal =>
  stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs);

/**
 * Waits `ms` (through `sleep` when a test injected one), but rejects with `RunAborted` the moment
 * the run is stopped: a client never sleeps on an action that is no longer ours.
 */
export async function pause(ms: number, stop?: AbortSignal, sleep?: (ms: number) => Promise<void>): Promise<void> {
  throwIfStopped(stop);
  if (!sleep) {
    await delay(ms, undefined, { signal: stop }).catch((e: unknown) => {
      throw stop?.aborted ? new RunAborted() : e;
    });
    return;
  }
  if (!stop) return sleep(ms);
  let onStop = () => {};
  const stopped = new Promise<never>((_, reject) => {
    onStop = () => reject(new RunAborted());
    stop.addEventListener('abort', onStop, { once: true });
  });
  try {
    await Promise.race([sleep(ms), stopped]);
  } finally {
    stop.removeEventListener('abort', onStop);
  }
}
