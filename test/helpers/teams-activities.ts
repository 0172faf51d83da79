import { fixture } from './fixtures';
import { TENANT_ID } from './test-app';

export const BOT_ID = '28:608cacfd-1cea-40c9-b678-4b93e69bb72b';
export const CHANNEL_ID = '19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2';
export const TEAM_ID = '19:zFLSDFWsesfzcmKArqKJ-65aOXJz@sgf462H2wz41@thread.tacv2';

/** Microsoft's published "bot added to a team" installationUpdate, pointed at our stand-in connector. */
export function botInstalledInTeam(serviceUrl: string, overrides: Record<string, unknown> = {}) {
  return { ...fixture('test/fixtures/contracts/activity.installationUpdate.add.fixed.json'), serviceUrl, ...overrides };
}

/** Microsoft's published conversationUpdate for the bot added to a team. */
export function botAddedToTeam(serviceUrl: string) {
  return { ...fixture('test/fixtures/contracts/activity.conversationUpdate.bot-added-to-team.json'), serviceUrl };
}

/** The bot itself removed from the team (membersRemoved holds the bot's id). */
export function botRemovedFromTeam(serviceUrl: string) {
  const a = fixture('test/fixtures/contracts/activity.conversationUpdate.member-removed-from-team.json');
  return {
    ...a,
    serviceUrl,
    membersRemoved: [{ id: BOT_ID }],
    recipient: { id: BOT_ID, name: 'Vigil' },
    conversation: { ...a.conversation, id: CHANNEL_ID, tenantId: TENANT_ID },
    channelData: { ...a.channelData, team: { id: TEAM_ID }, tenant: { id: TENANT_ID } },
  };
}

let counter = 0;

/** A 1:1 message from Microsoft's published example, with our text and connector. */
export function personalMessage(serviceUrl: string, text: string) {
  const a = fixture('test/fixtures/contracts/activity.message.personal.json');
  counter += 1;
  return { ...a, id: `msg-${counter}`, serviceUrl, text, attachments: [], channelData: { tenant: { id: TENANT_ID } } };
}
