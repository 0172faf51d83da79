import 'dotenv/config';
import { runDoctor } from './doctor/run-doctor';

/**
 * `npm run doctor [-- --timeout <seconds>]`: the preflight a deployer runs with the production
 * settings (the environment and `.env`, as `npm start` reads them). One line per check, ✓ or ✗
 * with what to fix, – for a piece that is not configured; exit code 1 when any check fails.
 */
async function main(): Promise<number> {
  const i = process.argv.indexOf('--timeout');
  const seconds = i > 0 ? Number(process.argv[i + 1]) : 5;
  const { failed } = await runDoctor(process.env, { print: (l) => console.log(l), timeoutMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 5000 });
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  () => {
    console.error('✗ doctor — stopped unexpectedly; run it again with LOG_LEVEL=debug');
    process.exit(1);
  },
);
