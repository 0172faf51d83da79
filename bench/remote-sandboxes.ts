import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { Behaviour, RecordedRequest } from '../sandbox/stand-in';
import type { SandboxCommand } from './sandbox-process';

export interface RemoteSandboxes {
  connectorUrl: string;
  /** Vigil's settings pointing every upstream at the stand-ins. */
  env: Record<string, string>;
  /** Every upstream stand-in behaves so (`latencyMs`, failures) from now on. */
  setAll(behaviour: Partial<Behaviour>): Promise<void>;
  /** Resolves with the Bot Connector's matching requests once there are `count` (each with `at`, the stand-in's clock). */
  waitForConnector(method: string, pattern: string, count: number, timeoutMs: number): Promise<RecordedRequest[]>;
  connectorRequests(method: string, pattern: string): Promise<RecordedRequest[]>;
  /** Every upstream stand-in's requests that arrived at or after `since` (the stand-ins' clock; no headers or bodies). */
  upstreamRequests(since: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

type Command = SandboxCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

/** Starts `bench/sandbox-process.ts` beside the bench and drives it over its stdin and stdout. */
export async function startRemoteSandboxes(): Promise<RemoteSandboxes> {
  const child = spawn(process.execPath, [...process.execArgv, path.join(__dirname, 'sandbox-process.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! });
  const pending = new Map<number, (answer: { requests?: RecordedRequest[]; error?: string }) => void>();
  const first = new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the sandbox process ended with ${code}`)));
  });
  const { connector, env } = JSON.parse(await first) as { connector: string; env: Record<string, string> };
  lines.on('line', (line) => {
    const answer = JSON.parse(line) as { id: number; requests?: RecordedRequest[]; error?: string };
    pending.get(answer.id)?.(answer);
    pending.delete(answer.id);
  });
  let next = 0;
  const ask = (command: Command) =>
    new Promise<RecordedRequest[]>((resolve, reject) => {
      const id = ++next;
      pending.set(id, (a) => (a.error ? reject(new Error(a.error)) : resolve(a.requests ?? [])));
      child.stdin!.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  return {
    connectorUrl: connector,
    env,
    setAll: async (behaviour) => void (await ask({ op: 'set', behaviour })),
    waitForConnector: (method, pattern, count, timeoutMs) => ask({ op: 'waitFor', method, pattern, count, timeoutMs }),
    connectorRequests: (method, pattern) => ask({ op: 'count', method, pattern }),
    upstreamRequests: (since) => ask({ op: 'upstream', since }),
    async close() {
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}
