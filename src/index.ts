import 'dotenv/config';
import { createApp } from './app';
import { loadConfig } from './config';
import { closeOnSignals, runMain } from './process-lifecycle';

/** The composition root: the only place that reads process.env. */
async function main() {
  const config = loadConfig(process.env);
  const app = await createApp(config);
  await app.listen();
  closeOnSignals(app.logger, () => app.close());
}

runMain(main);
