import 'dotenv/config';
import { demoEnvelopes, SECOND_WORKSPACE_CHANNEL, secondWorkspaceDemo, startLocalStack } from './local-stack';

/**
 * `npm run dev`: Vigil in local mode with its sandbox and the Microsoft 365 Agents Playground.
 * Open http://localhost:56150, pick the team channel: the demo incidents arrive as cards.
 */
async function main() {
  const stack = await startLocalStack({
    botPort: Number(process.env.PORT ?? 3978),
    playgroundPort: Number(process.env.PLAYGROUND_PORT ?? 56150),
    sandboxBasePort: Number(process.env.SANDBOX_BASE_PORT ?? 4010),
    dataDir: process.env.VIGIL_DATA_DIR ?? './data',
    logLevel: process.env.LOG_LEVEL ?? 'info',
    env: process.env,
  });
  console.log(`
  Vigil        ${stack.botUrl}/api/messages   (local mode, PGlite in ${process.env.VIGIL_DATA_DIR ?? './data'})
  Sandbox      ${stack.sandboxes.all.map((s) => `${s.name} ${s.url}`).join('\n               ')}
  Playground   http://localhost:${process.env.PLAYGROUND_PORT ?? 56150}   ← open this; the team channel shows incident cards

  Post another incident:  npm run incident -- demo/incidents/brute-force-admin.update.json
  Acknowledge a page in "PagerDuty" (its signed webhook comes back to Vigil):
                          curl -X POST ${stack.sandboxes.pagerDuty.url}/_control/incidents/1/acknowledge -d '{"by":"Megan Bowen"}'
                          (its incidents and their numbers: curl ${stack.sandboxes.pagerDuty.url}/_control/incidents)
  Stop:                   Ctrl-C
`);

  const stop = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  // The demo incidents go out once the Playground has installed Vigil in the team channel;
  // already-stored ones are replays and change nothing.
  await stack.channelInstalled(24 * 3_600_000);
  for (const { file, body } of demoEnvelopes()) {
    const res = await stack.postIncident(body);
    console.log(`  demo incident ${file}: ${res.status} ${res.body}`);
  }
  // A unified incident of the second workspace (fabrikam), once its channel (Incidents) is open.
  await stack.channelInstalled(24 * 3_600_000, SECOND_WORKSPACE_CHANNEL);
  const res = await stack.postIncident(secondWorkspaceDemo());
  console.log(`  demo incident of workspace fabrikam (to the Incidents channel): ${res.status} ${res.body}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
