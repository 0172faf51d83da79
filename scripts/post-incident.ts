import 'dotenv/config';
import fs from 'node:fs';

/**
 * `npm run incident -- <file> [<file> …]`: posts incident files (trigger envelopes or REST
 * resources) to a running Vigil, the way a Sentinel playbook would. With `--log-analytics` they go
 * to the sandbox's SecurityIncident table instead, for the poller (VIGIL_POLL_SECURITY_INCIDENTS=on).
 */
async function main() {
  const viaLogAnalytics = process.argv.includes('--log-analytics');
  const files = process.argv.slice(2).filter((a) => a !== '--log-analytics');
  if (files.length === 0) {
    console.error('usage: npm run incident -- [--log-analytics] <incident.json> [more.json …]   (e.g. demo/incidents/brute-force-admin.json)');
    process.exit(2);
  }
  if (viaLogAnalytics) process.exit(await logToSandbox(files));
  const base = (process.env.VIGIL_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3978}`).replace(/\/+$/, '');
  const secret = process.env.VIGIL_WEBHOOK_SECRET ?? 'local-dev-secret';
  let failed = false;
  for (const file of files) {
    const body = fs.readFileSync(file, 'utf8');
    const res = await fetch(`${base}/api/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body,
      signal: AbortSignal.timeout(10_000),
    }).catch((e: Error) => {
      console.error(`${file}: cannot reach Vigil at ${base} (${e.message}). Is \`npm run dev\` running?`);
      process.exit(1);
    });
    const text = await res.text();
    console.log(`${file}: ${res.status} ${text}`);
    failed ||= !res.ok;
  }
  process.exit(failed ? 1 : 0);
}

/** The dev sandbox's Log Analytics stand-in listens on SANDBOX_BASE_PORT + 6 (see sandbox/sandboxes.ts). */
async function logToSandbox(files: string[]): Promise<number> {
  const base = `http://127.0.0.1:${Number(process.env.SANDBOX_BASE_PORT ?? 4010) + 6}`;
  let failed = false;
  for (const file of files) {
    const res = await fetch(`${base}/_sandbox/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fs.readFileSync(file, 'utf8'),
      signal: AbortSignal.timeout(10_000),
    }).catch((e: Error) => {
      console.error(`${file}: cannot reach the sandbox's Log Analytics at ${base} (${e.message}). Is \`npm run dev\` running?`);
      process.exit(1);
    });
    console.log(`${file}: ${res.status} ${await res.text()} (the poller reads it at its next poll)`);
    failed ||= !res.ok;
  }
  return failed ? 1 : 0;
}

void main();
