import { createLogger } from '../logger';
import { createBotAdapter } from '../teams/bot-adapter';
import { fail, off, ok, reason, type Check } from './check';

const NAME = 'Bot Framework credential';

/**
 * The token Vigil signs its proactive Bot Connector calls with, fetched through the bot's own
 * code path (`createBotAdapter`): the app password, or the user-assigned managed identity.
 */
export const checkBotFramework: Check = async ({ config }) => {
  const { bot } = config;
  if (!bot.appId) return [off(NAME, 'local mode (no MicrosoftAppId): no Bot Framework authentication')];
  const how = bot.appType === 'UserAssignedMSI' ? 'user-assigned managed identity' : `${bot.appType} app password`;
  try {
    const token = await createBotAdapter(bot, createLogger('silent')).token?.();
    if (!token) return [fail(NAME, `no token for app ${bot.appId} (${how}); check MicrosoftAppId and MicrosoftAppPassword`)];
    return [ok(NAME, `token for app ${bot.appId} (${how})`)];
  } catch (e) {
    const fix =
      bot.appType === 'UserAssignedMSI'
        ? 'MicrosoftAppId must be the client id of the identity the web app runs as'
        : 'check MicrosoftAppPassword (a client secret of app MicrosoftAppId, not its id) and MicrosoftAppTenantId';
    return [fail(NAME, `no token for app ${bot.appId} (${how}): ${reason(e)}; ${fix}`)];
  }
};
