import readline from 'node:readline';
import { startBotConnector } from '../sandbox/bot-connector';
import { startSandboxes } from '../sandbox/sandboxes';
import type { Behaviour } from '../sandbox/stand-in';

/** What the bench asks of this process, one JSON line each; each answered by one line with its id. */
export type SandboxCommand =
  | { id: number; op: 'set'; behaviour: Partial<Behaviour> }
  | { id: number; op: 'waitFor'; method: string; pattern: string; count: number; timeoutMs: number }
  | { id: number; op: 'count'; method: string; pattern: string }
  | { id: number; op: 'upstream'; since: number };

/**
 * The sandbox's stand-ins and Bot Connector in a process of their own, for benches that time
 * Vigil against upstream latency: in the bench's process their timers would start only when
 * Vigil's work let that event loop read the request, and their own work would run on Vigil's
 * thread — neither is what a network does. Prints one JSON line with Vigil's settings, then takes
 * commands on stdin (so waiting for a card costs Vigil's process nothing) until stdin closes.
 */
async function main() {
  const [connector, sandboxes] = await Promise.all([startBotConnector(), startSandboxes()]);
  const reply = (id: number, body: object) => process.stdout.write(`${JSON.stringify({ id, ...body })}\n`);
  process.stdout.write(`${JSON.stringify({ connector: connector.url, env: sandboxes.env })}\n`);
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const c = JSON.parse(line) as SandboxCommand;
    if (c.op === 'set') {
      for (const s of sandboxes.all) s.set(c.behaviour);
      reply(c.id, {});
    } else if (c.op === 'upstream') {
      reply(c.id, { requests: sandboxes.all.flatMap((s) => s.requests().filter((r) => r.at >= c.since)).map((r) => ({ ...r, headers: {}, body: undefined })) });
    } else if (c.op === 'count') {
      reply(c.id, { requests: connector.requests(c.method, c.pattern) });
    } else {
      connector.waitFor(c.method, c.pattern, c.count, c.timeoutMs).then(
        (requests) => reply(c.id, { requests }),
        (e: unknown) => reply(c.id, { error: String(e) }),
      );
    }
  });
  lines.on('close', () => void Promise.all([connector.close(), sandboxes.close()]).then(() => process.exit(0)));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
