import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

export interface RunningProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line that matches. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * Starts `node <entry>` from `cwd` with exactly `env` (plus PATH), the way a process manager does:
 * no tsx, no jest, nothing inherited but the runtime.
 */
export function startNode(entry: string, o: { env: Record<string, string>; cwd: string; args?: string[] }): RunningProcess {
  const child = spawn(process.execPath, [...(o.args ?? []), entry], { cwd: o.cwd, env: { PATH: process.env.PATH ?? '', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        const look = () => {
          const line = out.split('\n').find((l) => pattern.test(l));
          if (line) {
            clearTimeout(timer);
            resolve(line);
          } else waiters.push(look);
        };
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`process ended before a line matching ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
        });
        look();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
