import { CloudAdapter, ConfigurationBotFrameworkAuthentication, ConfigurationServiceClientCredentialFactory } from 'botbuilder';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { TokenProvider } from './connector-client';

const BOT_FRAMEWORK_SCOPE = 'https://api.botframework.com';
const BOT_FRAMEWORK_LOGIN = 'https://login.microsoftonline.com/botframework.com';

/**
 * The public cloud's settings with the signing keys published elsewhere (the sandbox). The SDK
 * treats any one of these as "all of them are given", so the rest are spelt out.
 */
const publicCloudWithKeysAt = (metadataUrl: string) => ({
  ValidateAuthority: true,
  ToChannelFromBotLoginUrl: BOT_FRAMEWORK_LOGIN,
  ToChannelFromBotOAuthScope: BOT_FRAMEWORK_SCOPE,
  ToBotFromChannelTokenIssuer: BOT_FRAMEWORK_SCOPE,
  OAuthUrl: BOT_FRAMEWORK_SCOPE,
  CallerId: 'urn:botframework:azure',
  ToBotFromChannelOpenIdMetadataUrl: metadataUrl,
  ToBotFromEmulatorOpenIdMetadataUrl: metadataUrl,
});

/**
 * The Bot Framework side of Teams I/O: `CloudAdapter` validates incoming JWTs whenever an app id
 * is configured (local mode has none and accepts loopback traffic unauthenticated), and the token
 * provider signs Vigil's own proactive calls. Moving to the Microsoft 365 Agents SDK touches this
 * file, `connector-client.ts` and the bot class only.
 */
export function createBotAdapter(bot: Config['bot'], logger: Logger): { adapter: CloudAdapter; auth?: ConfigurationBotFrameworkAuthentication; token?: TokenProvider } {
  const settings = {
    MicrosoftAppId: bot.appId ?? '',
    MicrosoftAppPassword: bot.appPassword ?? '',
    MicrosoftAppType: bot.appType,
    MicrosoftAppTenantId: bot.tenantId ?? '',
    ...(bot.openIdMetadataUrl && publicCloudWithKeysAt(bot.openIdMetadataUrl)),
  };
  const auth = new ConfigurationBotFrameworkAuthentication(settings);
  const adapter = new CloudAdapter(auth);
  adapter.onTurnError = async (context, error) => {
    logger.error({ err: error, activity: context.activity.type }, 'turn failed');
    await context.sendActivity('Sorry — something went wrong on my side. The team has the details in the log.').catch(() => undefined);
  };
  if (!bot.appId) return { adapter };

  const factory = new ConfigurationServiceClientCredentialFactory(settings);
  const appId = bot.appId;
  const token: TokenProvider = async () => {
    const credentials = (await factory.createCredentials(appId, BOT_FRAMEWORK_SCOPE, BOT_FRAMEWORK_LOGIN, true)) as { getToken?: () => Promise<string> };
    return credentials.getToken?.();
  };
  return { adapter, auth, token };
}
