import crypto from 'node:crypto';
import { startStandIn, type StandIn } from './stand-in';

/** The issuer of tokens the Bot Framework channel service sends to bots. */
export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';

export interface BotFrameworkKeysStandIn extends StandIn {
  /** What Vigil sets as VIGIL_BOT_OPENID_METADATA_URL to trust this stand-in. */
  metadataUrl: string;
  /** A token as the Teams channel sends with each activity: signed with the published key. */
  channelToken(claims: { aud: string; serviceurl: string } & Record<string, unknown>, options?: { signWith?: 'published' | 'foreign' }): string;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/**
 * The Bot Framework's token-signing side as bots see it: the OpenID configuration at
 * `/v1/.well-known/openidconfiguration` and its JWKS, whose keys carry `endorsements` (the
 * channels a key may sign for), and channel tokens signed with the matching private key.
 */
export async function startBotFrameworkKeys(options: { port?: number } = {}): Promise<BotFrameworkKeysStandIn> {
  const kid = crypto.randomBytes(12).toString('base64url');
  const key = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const foreign = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  let base = '';
  const standIn = await startStandIn(
    'bot-framework-keys',
    [
      {
        method: 'GET',
        path: '/v1/.well-known/openidconfiguration',
        handle: () => ({
          status: 200,
          body: {
            issuer: BOT_FRAMEWORK_ISSUER,
            authorization_endpoint: 'https://invalid.botframework.com',
            jwks_uri: `${base}/v1/.well-known/keys`,
            id_token_signing_alg_values_supported: ['RS256'],
            token_endpoint_auth_methods_supported: ['private_key_jwt'],
          },
        }),
      },
      {
        method: 'GET',
        path: '/v1/.well-known/keys',
        handle: () => {
          const { n, e } = key.publicKey.export({ format: 'jwk' });
          return { status: 200, body: { keys: [{ kty: 'RSA', use: 'sig', kid, n, e, endorsements: ['msteams', 'webchat', 'emulator'] }] } };
        },
      },
    ],
    options,
  );
  base = standIn.url;
  return {
    ...standIn,
    metadataUrl: `${base}/v1/.well-known/openidconfiguration`,
    channelToken(claims, o = {}) {
      const now = Math.floor(Date.now() / 1000);
      const header = { alg: 'RS256', typ: 'JWT', kid };
      const payload = { iss: BOT_FRAMEWORK_ISSUER, nbf: now - 5, exp: now + 3600, ...claims };
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
      return `${input}.${crypto.sign('sha256', Buffer.from(input), (o.signWith === 'foreign' ? foreign : key).privateKey).toString('base64url')}`;
    },
  };
}
