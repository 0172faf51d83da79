import crypto from 'node:crypto';
import { startStandIn, type StandIn } from './stand-in';

/** The sandbox tenant and the managed identity of its Sentinel playbook. */
export const SANDBOX_TENANT_ID = 'b28fdbfd-2b78-4f93-b0f8-8881793f0f8f';
export const SANDBOX_PLAYBOOK_OID = '3c9a1f0e-7d2b-4c55-9e1a-0000000000a1';

export interface TokenOptions {
  /** `tenant` (the published key), or `foreign`: a key the tenant never published, under the same `kid`. */
  signWith?: 'tenant' | 'foreign';
  /** Overrides the header's `kid`. */
  kid?: string;
  /** `none` and `HS256` (keyed with the tenant's public key) forge tokens the way attackers do. */
  alg?: 'RS256' | 'none' | 'HS256';
}

export interface EntraStandIn extends StandIn {
  tenantId: string;
  /** What Vigil sets as VIGIL_WEBHOOK_AUTHORITY to trust this stand-in. */
  authority: string;
  /** The issuer of v2 tokens, `<authority>/<tenant>/v2.0`; v1 tokens say `https://sts.windows.net/<tenant>/`. */
  issuer: string;
  /**
   * An access token as Entra ID issues to a managed identity (app-only, one hour), for `aud` and
   * `oid`; other `claims` are added or override the defaults (`exp: <past>` makes it expired).
   */
  token(claims: { aud: string; oid: string } & Record<string, unknown>, options?: TokenOptions): string;
  /** Publishes a new signing key (a new `kid`) in place of the old one, as Entra ID rolls keys. */
  rotateKey(): void;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

const newKey = () => ({ kid: crypto.randomBytes(16).toString('base64url'), ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) });

/**
 * Entra ID's token-signing side: the tenant's JWKS at `/<tenant>/discovery/v2.0/keys` (shaped like
 * the real one: `kty`, `use`, `kid`, `n`, `e`, no `alg`) and tokens signed with the matching
 * private key, generated at start. Tokens are built with node:crypto, not the library Vigil
 * verifies with, so the two cannot share a mistake.
 */
export async function startEntra(options: { port?: number; tenantId?: string } = {}): Promise<EntraStandIn> {
  const tenantId = options.tenantId ?? SANDBOX_TENANT_ID;
  let key = newKey();
  const foreign = newKey();

  const standIn = await startStandIn(
    'entra',
    [
      {
        method: 'GET',
        path: '/:tenant/discovery/v2.0/keys',
        handle: ({ params }) => {
          if (params.tenant?.toLowerCase() !== tenantId) {
            return { status: 400, body: { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${params.tenant}' not found.` } };
          }
          const { n, e } = key.publicKey.export({ format: 'jwk' });
          return { status: 200, body: { keys: [{ kty: 'RSA', use: 'sig', kid: key.kid, n, e, issuer: `${authority}/${tenantId}/v2.0` }] } };
        },
      },
    ],
    options,
  );
  const authority = standIn.url;
  const issuer = `${authority}/${tenantId}/v2.0`;

  const sign = (input: string, o: TokenOptions): string => {
    if (o.alg === 'none') return '';
    if (o.alg === 'HS256') return crypto.createHmac('sha256', key.publicKey.export({ format: 'pem', type: 'spki' })).update(input).digest('base64url');
    return crypto.sign('sha256', Buffer.from(input), (o.signWith === 'foreign' ? foreign : key).privateKey).toString('base64url');
  };

  return {
    ...standIn,
    tenantId,
    authority,
    issuer,
    token(claims, o = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: issuer,
        iat: now - 5,
        nbf: now - 5,
        exp: now + 3600,
        appid: crypto.randomUUID(),
        appidacr: '2',
        idp: `https://sts.windows.net/${tenantId}/`,
        idtyp: 'app',
        sub: claims.oid,
        tid: tenantId,
        uti: crypto.randomBytes(16).toString('base64url'),
        ver: '2.0',
        ...claims,
      };
      const header = { typ: 'JWT', alg: o.alg ?? 'RS256', kid: o.kid ?? key.kid };
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
      return `${input}.${sign(input, o)}`;
    },
    rotateKey() {
      key = newKey();
    },
  };
}
