import 'dotenv/config';
import { createApp } from './app';
import { loadConfig } from './config';
import { isAppError } from './errors';

/** The composition root: the only place that reads process.env. */
async function main() {
  const config = loadConfig(process.env);
  const app = await createApp(config);
  await app.listen();
  const shutdown = async (signal: string) => {
    app.logger.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error(isAppError(e) ? e.message : e);
  process.exit(1);
});
