import 'dotenv/config';
import fs from 'node:fs';

/**
 * `npm run incident -- <file> [<file> …]`: posts incident files (trigger envelopes or REST
 * resources) to a running Vigil, the way a Sentinel playbook would.
 */
async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: npm run incident -- <incident.json> [more.json …]   (e.g. demo/incidents/brute-force-admin.json)');
    process.exit(2);
  }
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

void main();
