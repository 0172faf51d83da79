/** Teams' documented per-bot, per-conversation send limits. */
const TEAMS_SEND_LIMITS = [
  { max: 7, windowMs: 1_000 },
  { max: 8, windowMs: 2_000 },
  { max: 60, windowMs: 30_000 },
  { max: 1_800, windowMs: 3_600_000 },
] as const;

export interface Pacer {
  /** Records a send and returns 0 if one may go now; otherwise the wait in ms (nothing recorded). */
  tryAcquire(conversationId: string): number;
}

/**
 * Sliding-window limits per conversation, so that a storm in one channel stays under Teams'
 * limits instead of learning them from 429s. In-process: with several replicas each keeps its
 * own view, and the outbox's 429 handling covers the rest.
 */
export function createPacer(limits: ReadonlyArray<{ max: number; windowMs: number }> = TEAMS_SEND_LIMITS, now: () => number = Date.now, slackMs = 100): Pacer {
  // Teams counts sends when they arrive, we when they leave: each window is kept `slackMs` longer
  // so that uneven network latency cannot squeeze one send too many into Teams' window.
  const widened = limits.map((l) => ({ max: l.max, windowMs: l.windowMs + slackMs }));
  const longest = Math.max(...widened.map((l) => l.windowMs));
  const sent = new Map<string, number[]>();
  return {
    tryAcquire(conversationId) {
      const t = now();
      const times = (sent.get(conversationId) ?? []).filter((s) => s > t - longest);
      let wait = 0;
      for (const { max, windowMs } of widened) {
        const inWindow = times.filter((s) => s > t - windowMs);
        if (inWindow.length >= max) wait = Math.max(wait, inWindow[inWindow.length - max]! + windowMs - t);
      }
      if (wait === 0) times.push(t);
      sent.set(conversationId, times);
      return wait;
    },
  };
}
