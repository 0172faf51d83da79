/**
 * The worker stopped the run: another Vigil process took its action over when this one's lease
 * ran out. Final for this process and never retried by it: the action is no longer ours. It is the
 * HTTP layer's `CallStopped`, so every upstream call that takes the run's signal stops the same way.
 */
export { CallStopped as RunAborted, pause, throwIfStopped } from '../http/call-stopped';

/** The signal for one call: its own timeout, and the run's stop when there is one. */
export const callSignal = (timeoutMs: number, stop?: AbortSignal): AbortSignal => (stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs));
