import { isAppError } from './errors';
import type { Logger } from './logger';

/** On SIGINT or SIGTERM: log it, let `close` finish what is in flight, then exit. */
export function closeOnSignals(logger: Logger, close: () => Promise<void>): void {
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

/** Runs an entry point; a known error (a bad setting) prints its message alone, anything else in full. */
export function runMain(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    console.error(isAppError(e) ? e.message : e);
    process.exit(1);
  });
}
