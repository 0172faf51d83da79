import 'dotenv/config';

/** The Playground's second analyst (`.m365agentsplayground.yml`): an approver in demo/actions.yaml. */
export const MEGAN = { id: 'user-id-1', name: 'Megan Bowen', aadObjectId: '7faf8ab2-3d56-4244-b585-20c8a42ed2b8' };

interface Found {
  verb: string;
  title: string;
  data: Record<string, unknown>;
}

const executes = (node: unknown): Found[] => {
  if (Array.isArray(node)) return node.flatMap(executes);
  if (!node || typeof node !== 'object') return [];
  const o = node as Record<string, unknown>;
  const own = o.type === 'Action.Execute' && typeof o.verb === 'string' ? [{ verb: o.verb, title: String(o.title ?? ''), data: (o.data ?? {}) as Record<string, unknown> }] : [];
  return [...own, ...Object.values(o).flatMap(executes)];
};

/**
 * Approves every open request on an incident as another Playground user (Megan Bowen by default),
 * the second pair of eyes a four-eyes policy needs. Her card view (a `card.refresh`, as her Teams
 * client would fetch it) gives the Approve buttons she may press; each press goes to Vigil through
 * the Playground's impersonation endpoint (`POST /_internal/v1/customActivities`), so the channel
 * card updates in the browser as it would in Teams. Returns the titles of the requests approved.
 */
export async function approveAs(o: { botUrl: string; playgroundUrl: string; incident: number; user?: typeof MEGAN; conversationId?: string }): Promise<string[]> {
  const user = o.user ?? MEGAN;
  const conversationId = o.conversationId ?? 'team-soc-id';
  const template = (await (
    await fetch(`${o.playgroundUrl}/_internal/v1/customActivities/template?conversationId=${encodeURIComponent(conversationId)}&type=userAdded`, { signal: AbortSignal.timeout(10_000) })
  ).json()) as Record<string, unknown>;
  const invoke = (verb: string, data: Record<string, unknown>, id: string) => ({
    type: 'invoke',
    name: 'adaptiveCard/action',
    id,
    channelId: 'msteams',
    serviceUrl: template.serviceUrl,
    from: user,
    recipient: template.recipient,
    conversation: template.conversation,
    channelData: template.channelData,
    value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
  });
  const res = await fetch(`${o.botUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(invoke('card.refresh', { incident: o.incident }, `refresh-${Date.now()}`)),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`Vigil answered ${res.status} to ${user.name}'s view of incident #${o.incident}: ${await res.text()}`);
  const card = ((await res.json()) as { value?: unknown }).value;
  const approves = executes(card).filter((b) => b.verb === 'action.approve');
  const approved: string[] = [];
  for (const [n, b] of approves.entries()) {
    const sent = await fetch(`${o.playgroundUrl}/_internal/v1/customActivities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(invoke('action.approve', b.data, `approve-${Date.now()}-${n}`)),
      signal: AbortSignal.timeout(10_000),
    });
    if (!sent.ok) throw new Error(`the Playground refused the approval (${sent.status}): ${await sent.text()}`);
    approved.push(String(b.data.action));
  }
  return approved;
}

async function main() {
  const incident = Number(process.argv[2]);
  if (!Number.isInteger(incident)) {
    console.error('usage: npm run approve -- <incident number>   (approves its open requests as Megan Bowen, in the Playground)');
    process.exit(2);
  }
  const botUrl = (process.env.VIGIL_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3978}`).replace(/\/+$/, '');
  const playgroundUrl = `http://127.0.0.1:${process.env.PLAYGROUND_PORT ?? 56150}`;
  const approved = await approveAs({ botUrl, playgroundUrl, incident }).catch((e: Error) => {
    console.error(`${e.message}\nIs \`npm run dev\` running?`);
    process.exit(1);
  });
  console.log(
    approved.length === 0
      ? `Megan Bowen has nothing to approve on incident #${incident} (ask for an action on its card first).`
      : `Megan Bowen approved ${approved.length} request${approved.length === 1 ? '' : 's'} on incident #${incident}; watch the card in the team channel.`,
  );
}

if (require.main === module) void main();
