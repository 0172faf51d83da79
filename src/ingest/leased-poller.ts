import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { advanceIngestCursor, claimIngestCursor, releaseIngestCursor } from '../store/ingest-cursor-repository';

/** Another replica holds the lease now (this one stalled past it): it owns the cursor from here. */
export class LeaseLost extends Error {}

/** One poll under the lease: where the cursor stands, and how to move it (which renews the lease). */
export interface PollPass {
  position: Date;
  /** Moves the cursor forward (never back) and renews the lease; throws `LeaseLost` once another replica has it. */
  saveProgress(position: Date): Promise<void>;
  /** Best effort, after a failure: never throws, and does nothing once the lease is lost. */
  saveProgressQuietly(position: Date): Promise<void>;
}

export type PassFailed = { kind: 'failed'; reason: string; handled: number };

export interface LeasedPoller<R> {
  start(): void;
  /** Stops polling, waits for a poll in progress and gives the lease up. */
  stop(): Promise<void>;
  /** Polls now (after any poll in progress); what a timer tick does. Never throws. */
  pollNow(): Promise<R | { kind: 'busy' } | PassFailed>;
}

/**
 * What every poller of an upstream shares: one replica polls at a time under a lease on its
 * durable cursor in the store (a replica that dies loses it, a clean stop gives it up), polls
 * never overlap, and a timer polls again `intervalMs` after each poll ends. `pass` does one poll;
 * a pass that throws is reported as failed, the cursor where the pass left it.
 */
export function createLeasedPoller<R>(o: {
  db: Db;
  cursor: string;
  /** The upstream's name in log lines. */
  what: string;
  intervalMs: number;
  leaseMs: number;
  /** How far back the very first poll reads. */
  lookbackMs: number;
  logger: Logger;
  pass: (p: PollPass) => Promise<R>;
}): LeasedPoller<R> {
  const owner = randomUUID();
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  const poll = async (): Promise<R | { kind: 'busy' }> => {
    const cursor = await claimIngestCursor(o.db, o.cursor, owner, o.leaseMs, o.lookbackMs);
    if (!cursor) return { kind: 'busy' };
    const saveProgress = async (position: Date) => {
      if (!(await advanceIngestCursor(o.db, o.cursor, owner, position, o.leaseMs))) throw new LeaseLost('another replica took the polling lease over');
    };
    return o.pass({
      position: cursor.position,
      saveProgress,
      saveProgressQuietly: async (position) => {
        await advanceIngestCursor(o.db, o.cursor, owner, position, o.leaseMs).catch(() => false);
      },
    });
  };

  const pollNow = () => {
    const next = chain.then(poll, poll);
    chain = next.catch(() => undefined);
    return next.catch((e: unknown) => {
      o.logger.error({ err: e }, `${o.what} poll crashed`);
      return { kind: 'failed' as const, reason: e instanceof Error ? e.message : String(e), handled: 0 };
    });
  };

  const tick = async () => {
    await pollNow();
    if (!running) return;
    timer = setTimeout(() => void tick(), o.intervalMs);
    timer.unref();
  };

  return {
    start() {
      if (running) return;
      running = true;
      void tick();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await chain;
      await releaseIngestCursor(o.db, o.cursor, owner).catch((e: unknown) => o.logger.warn({ err: e }, 'could not give the polling lease up; it expires by itself'));
    },
    pollNow,
  };
}

/** Only the names of the bad fields, never their values: the payload's content is the attacker's. */
export const badFields = (message: string) => [...message.matchAll(/(?:^|; )([\w.@$]+):/g)].map((m) => m[1]);
