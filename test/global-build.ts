import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Once per test run: `npm run build`, as a deployer runs it. The process tests (the built server,
 * `npm run doctor`) start `dist/` as their own processes, so they test what ships, not the source.
 */
export default function buildOnce(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: path.resolve(__dirname, '..'), stdio: 'inherit', timeout: 180_000 });
}
