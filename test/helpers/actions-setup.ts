import path from 'node:path';
import type { BotConnectorStandIn } from '../../sandbox/bot-connector';
import type { Sandboxes } from '../../sandbox/sandboxes';
import { personalMessage, CHANNEL_ID } from './teams-activities';
import type { TestApp } from './test-app';

export const ALEX = { id: 'a1b2c3d4-0000-4000-8000-000000000020', name: 'Alex Wilber' };
export const MEGAN = { id: '7faf8ab2-3d56-4244-b585-20c8a42ed2b8', name: 'Megan Bowen' };
export const ISAIAH = { id: 'a1b2c3d4-0000-4000-8000-000000000023', name: 'Isaiah Langer' };
export const ADELE = { id: 'a1b2c3d4-0000-4000-8000-000000000022', name: 'Adele Vance' };
export type Person = typeof ALEX;

export const ACTION_POLICY = path.resolve(__dirname, '../fixtures/actions.yaml');

/** Vigil's settings for the action tests: every stand-in, the executors' targets, the test policy. */
export const actionEnv = (sandboxes: Sandboxes): Record<string, string> => ({ ...sandboxes.env, ...sandboxes.actionEnv, VIGIL_ACTION_POLICY_FILE: ACTION_POLICY });

/** A message or invoke from `who`, in the SOC channel, as Teams sends it. */
export const from = (serviceUrl: string, who: Person, text = '') => ({
  ...personalMessage(serviceUrl, text),
  from: { id: `29:${who.name.replace(/\s/g, '')}`, name: who.name, aadObjectId: who.id },
});

/** A chat message from `who` in their 1:1 chat with Vigil. */
export const says = (serviceUrl: string, who: Person, text: string) => ({
  ...from(serviceUrl, who, text),
  conversation: { conversationType: 'personal', id: `a:chat-with-${who.name.replace(/\s/g, '')}` },
});

export interface InvokeAnswer {
  status: number;
  statusCode: number;
  card: any;
  text: string;
}

/** Clicks an `Action.Execute` button the way Teams does: an `adaptiveCard/action` invoke into /api/messages. */
export async function click(app: TestApp, serviceUrl: string, who: Person, verb: string, data: Record<string, unknown>, trigger = 'manual'): Promise<InvokeAnswer> {
  const res = await app.sendActivity({
    ...from(serviceUrl, who),
    type: 'invoke',
    name: 'adaptiveCard/action',
    conversation: { conversationType: 'channel', id: `${CHANNEL_ID};messageid=1`, isGroup: true },
    value: { action: { type: 'Action.Execute', verb, data }, trigger },
  });
  const body = res.body ? JSON.parse(res.body) : {};
  return { status: res.status, statusCode: body.statusCode, card: body.value, text: JSON.stringify(body.value ?? body) };
}

/** Every `Action.Execute` on a card, nested ones included. */
export function buttonsOf(card: unknown): Array<{ title: string; verb: string; data: Record<string, unknown> }> {
  const found: Array<{ title: string; verb: string; data: Record<string, unknown> }> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const n = node as Record<string, unknown>;
      if (n.type === 'Action.Execute' && typeof n.verb === 'string') found.push({ title: String(n.title), verb: n.verb, data: (n.data ?? {}) as Record<string, unknown> });
      Object.values(n).forEach(walk);
    }
  };
  walk(card);
  return found;
}

/** The incident card as the channel shows it now (its latest version at the connector). */
export const channelCard = (connector: BotConnectorStandIn, number: number): any => {
  const activity = connector.conversation(CHANNEL_ID).find((a) => JSON.stringify(a.versions[0]).includes(`Incident #${number}`));
  return (activity?.versions.at(-1)?.attachments as any[] | undefined)?.[0]?.content;
};

/** Polls until `check` holds (the worker and the outbox run on their own time), or fails with `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 8000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
