export interface RateLimiter {
  /** Runs `fn` as soon as the rate allows; calls wait their turn in order. */
  schedule<T>(fn: () => Promise<T>): Promise<T>;
  /** Calls waiting for their turn. */
  waiting(): number;
}

/**
 * At most `perMinute` starts in any sliding minute (VirusTotal's free tier: 4). Calls beyond the
 * budget queue instead of failing. `now` and `sleep` are injectable so tests need no real minute.
 */
export function createRateLimiter(o: { perMinute: number; now?: () => number; sleep?: (ms: number) => Promise<void> }): RateLimiter {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const starts: number[] = [];
  let queue: Promise<void> = Promise.resolve();
  let waiting = 0;

  const turn = async () => {
    for (;;) {
      const t = now();
      while (starts.length > 0 && starts[0]! <= t - 60_000) starts.shift();
      if (starts.length < o.perMinute) {
        starts.push(t);
        return;
      }
      await sleep(starts[0]! + 60_000 - t);
    }
  };

  return {
    schedule(fn) {
      waiting += 1;
      const myTurn = queue.then(turn);
      queue = myTurn.catch(() => undefined);
      return myTurn.then(() => {
        waiting -= 1;
        return fn();
      });
    },
    waiting: () => waiting,
  };
}
