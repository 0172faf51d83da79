/** A claimed piece of work, ready to run. */
export type ClaimedRun = () => Promise<void>;

export interface ClaimLoopOptions {
  /** Claims up to `room` runs in the store (0: none fit now, but the look may still do its chores). */
  claim(room: number): Promise<ClaimedRun[]>;
  /** Runs this process carries out at once; more wait in the store. */
  concurrency: number;
  pollMs: number;
  /** When the next claimable work is due (ms, 0 = now), to look then rather than at the next poll; undefined: nothing queued. */
  nextDueMs?: () => Promise<number | undefined>;
  /** A look at the queue failed (the store is unreachable): it is logged and tried at the next poll. */
  onLookFailed(e: unknown): void;
  /** A run threw past its own handling: its lease runs out and another claim takes it over. */
  onRunCrashed(e: unknown): void;
}

/**
 * The loop every consumer of a leased queue shares (the action worker, the job runner): one look
 * at the queue at a time (a kick meanwhile looks again right after), the runs it claims started
 * without waiting for them (a slow one holds nothing else up), kept for `stop` to wait for, and
 * a look again at the next poll, or sooner when the next job is due sooner.
 */
export function createClaimLoop(o: ClaimLoopOptions) {
  const inFlight = new Set<Promise<void>>();
  const settledWaiters = new Set<() => void>();
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let looking: Promise<void> | undefined;
  let again = false;

  const start = (run: ClaimedRun): Promise<void> => {
    const p: Promise<void> = run()
      .catch(o.onRunCrashed)
      .finally(() => {
        inFlight.delete(p);
        kick();
      });
    inFlight.add(p);
    return p;
  };

  /** Claims what fits and starts it; the runs, not waited for. */
  const claimAndStart = async (): Promise<Array<Promise<void>>> => (await o.claim(Math.max(0, o.concurrency - inFlight.size))).map(start);

  const schedule = (ms: number) => {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(kick, ms);
    timer.unref();
  };

  const look = (): Promise<void> => {
    if (looking) {
      again = true;
      return looking;
    }
    looking = (async () => {
      do {
        again = false;
        if (!running) break;
        const started = await claimAndStart().catch((e: unknown) => {
          o.onLookFailed(e);
          return [];
        });
        // A full claim may have left more behind it.
        if (started.length > 0 && inFlight.size < o.concurrency) again = true;
      } while (again);
      const due = o.nextDueMs ? await o.nextDueMs().catch(() => o.pollMs) : o.pollMs;
      schedule(Math.min(o.pollMs, Math.max(due ?? o.pollMs, 5)));
    })().finally(() => {
      looking = undefined;
      if (inFlight.size === 0) for (const wake of [...settledWaiters]) wake();
    });
    return looking;
  };

  function kick(): void {
    if (running) void look();
  }

  return {
    kick,
    /** Claims and runs what is due now, waiting for those runs (tests, and one-shot callers); how many ran. */
    async tick(): Promise<number> {
      const started = await claimAndStart();
      await Promise.all(started);
      return started.length;
    },
    start(): void {
      running = true;
      kick();
    },
    /** Stops looking for work and waits for the runs in flight. */
    async stop(): Promise<void> {
      running = false;
      clearTimeout(timer);
      await looking;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    /** Resolves the next time no look and no run is under way. */
    settled(): Promise<void> {
      if (!looking && inFlight.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const wake = () => {
          settledWaiters.delete(wake);
          resolve();
        };
        settledWaiters.add(wake);
      });
    },
  };
}
