import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startStandIn, type RouteRequest, type StandIn } from './stand-in';

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

/**
 * An app registration (or a managed identity) the stand-in issues tokens to. `roles` are the
 * application roles granted to it, per token audience (the resource in the scope, e.g.
 * `https://graph.microsoft.com`), or a function that looks them up when each token is issued.
 */
export interface SandboxApp {
  clientId: string;
  /** The service principal's object id: the token's `oid`. */
  objectId: string;
  /** For the client credentials grant; a managed identity has none. */
  clientSecret?: string;
  /** Answers on the App Service managed identity endpoint (`identityEndpoint`). */
  managedIdentity?: boolean;
  roles?: Record<string, string[]> | ((audience: string) => string[]);
}

/** A token the stand-in handed out, for tests to match with what reached the other side. */
export interface IssuedToken {
  clientId: string;
  audience: string;
  token: string;
  grant: 'client_credentials' | 'managed_identity';
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
  /** Registers (or replaces) an app the token endpoints issue tokens to. */
  registerApp(app: SandboxApp): void;
  issued: IssuedToken[];
  /**
   * With `tls: true`: the same stand-in over HTTPS (`@azure/identity` and MSAL refuse any other
   * authority), as AZURE_AUTHORITY_HOST; `caFile` is its self-signed certificate, for
   * NODE_EXTRA_CA_CERTS or a client's `ca`.
   */
  authorityHost?: string;
  caFile?: string;
  /** App Service's managed identity endpoint and secret: what IDENTITY_ENDPOINT and IDENTITY_HEADER hold there. */
  identityEndpoint: string;
  identityHeader: string;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

const newKey = () => ({ kid: crypto.randomBytes(16).toString('base64url'), ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) });

/**
 * Entra ID's token-signing side: the tenant's JWKS at `/<tenant>/discovery/v2.0/keys` (shaped like
 * the real one: `kty`, `use`, `kid`, `n`, `e`, no `alg`) and tokens signed with the matching
 * private key, generated at start. Tokens are built with node:crypto, not the library Vigil
 * verifies with, so the two cannot share a mistake.
 */
export async function startEntra(options: { port?: number; tenantId?: string; tls?: boolean } = {}): Promise<EntraStandIn> {
  const tenantId = options.tenantId ?? SANDBOX_TENANT_ID;
  let key = newKey();
  const foreign = newKey();
  const apps = new Map<string, SandboxApp>();
  const issued: IssuedToken[] = [];
  const identityHeader = crypto.randomBytes(16).toString('hex');
  const wrongTenant = (t: string | undefined) =>
    t?.toLowerCase() !== tenantId
      ? { status: 400, body: aadError('invalid_tenant', 90002, `Tenant '${t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`) }
      : undefined;
  /** The token endpoints answer for any registered app; roles follow the audience. */
  const issue = (app: SandboxApp, audience: string, base: string, grant: IssuedToken['grant']) => {
    const roles = typeof app.roles === 'function' ? app.roles(audience) : (app.roles?.[audience] ?? []);
    const token = sign({ aud: audience, oid: app.objectId, sub: app.objectId, appid: app.clientId, iss: `${base}/${tenantId}/v2.0`, ...(roles.length > 0 ? { roles } : {}) }, {});
    issued.push({ clientId: app.clientId, audience, token, grant });
    return token;
  };

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
      {
        // What MSAL reads before its first token request (the authority's endpoints).
        method: 'GET',
        path: '/:tenant/v2.0/.well-known/openid-configuration',
        handle: ({ params, headers }) => wrongTenant(params.tenant) ?? { status: 200, body: openIdConfiguration(baseOf(headers), tenantId) },
      },
      {
        method: 'POST',
        path: '/:tenant/oauth2/v2.0/token',
        handle: (req) => wrongTenant(req.params.tenant) ?? clientCredentials(req),
      },
      {
        // App Service's managed identity endpoint (api-version 2019-08-01), as IDENTITY_ENDPOINT names it.
        method: 'GET',
        path: '/msi/token',
        handle: ({ query, headers }) => {
          if (headers['x-identity-header'] !== identityHeader) return { status: 401, body: { statusCode: 401, message: 'Unauthorized: X-IDENTITY-HEADER is missing or wrong.' } };
          if (query['api-version'] !== '2019-08-01') return { status: 400, body: { statusCode: 400, message: `Unsupported api-version '${query['api-version'] ?? ''}'.` } };
          if (!query.resource) return { status: 400, body: { statusCode: 400, message: "Required query variable 'resource' is missing." } };
          const app = [...apps.values()].find((a) => a.managedIdentity && (query.client_id ? a.clientId === query.client_id : query.principal_id ? a.objectId === query.principal_id : true));
          if (!app) return { status: 400, body: { statusCode: 400, message: 'No managed identity found for the given identity.', correlationId: crypto.randomUUID() } };
          const audience = query.resource.replace(/\/\.default$/, '').replace(/\/+$/, '');
          const expiresOn = Math.floor(Date.now() / 1000) + 3600;
          return {
            status: 200,
            body: { access_token: issue(app, audience, authority, 'managed_identity'), expires_on: String(expiresOn), resource: query.resource, token_type: 'Bearer', client_id: app.clientId },
          };
        },
      },
    ],
    options,
  );
  const authority = standIn.url;
  const issuer = `${authority}/${tenantId}/v2.0`;
  const front = options.tls ? await startTlsFront(standIn.port) : undefined;

  /**
   * The client credentials grant as Entra ID answers it: an unknown client, a wrong secret and a
   * scope without `/.default` are refused with Entra's error shape and AADSTS codes.
   */
  function clientCredentials({ body, headers }: RouteRequest) {
    const form = new URLSearchParams(typeof body === 'string' ? body : '');
    if (form.get('grant_type') !== 'client_credentials') return { status: 400, body: aadError('unsupported_grant_type', 70003, 'The app requested an unsupported grant type.') };
    const app = apps.get(form.get('client_id') ?? '');
    if (!app) return { status: 400, body: aadError('unauthorized_client', 700016, `Application with identifier '${form.get('client_id')}' was not found in the directory.`) };
    if (!app.clientSecret || form.get('client_secret') !== app.clientSecret) {
      return {
        status: 401,
        body: aadError('invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.'),
      };
    }
    const scope = (form.get('scope') ?? '').split(' ').find((s) => s.endsWith('/.default'));
    if (!scope)
      return {
        status: 400,
        body: aadError(
          'invalid_scope',
          1002012,
          `The provided value for scope ${form.get('scope') ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        ),
      };
    const audience = scope.slice(0, -'/.default'.length);
    return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: issue(app, audience, baseOf(headers), 'client_credentials') } };
  }

  const signature = (input: string, o: TokenOptions): string => {
    if (o.alg === 'none') return '';
    if (o.alg === 'HS256')
      return crypto
        .createHmac('sha256', key.publicKey.export({ format: 'pem', type: 'spki' }))
        .update(input)
        .digest('base64url');
    return crypto.sign('sha256', Buffer.from(input), (o.signWith === 'foreign' ? foreign : key).privateKey).toString('base64url');
  };
  function sign(claims: { aud: string; oid: string } & Record<string, unknown>, o: TokenOptions): string {
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
    return `${input}.${signature(input, o)}`;
  }

  return {
    ...standIn,
    tenantId,
    authority,
    issuer,
    issued,
    authorityHost: front?.url,
    caFile: front?.caFile,
    identityEndpoint: `${authority}/msi/token`,
    identityHeader,
    token: (claims, o = {}) => sign(claims, o),
    rotateKey() {
      key = newKey();
    },
    registerApp(app) {
      apps.set(app.clientId, app);
    },
    reset() {
      standIn.reset();
      issued.length = 0;
    },
    async close() {
      await front?.close();
      await standIn.close();
    },
  };
}

/** Entra ID's OAuth error body: `error`, `error_description` with its AADSTS code, `error_codes`. */
const aadError = (error: string, code: number, description: string) => ({
  error,
  error_description: `AADSTS${code}: ${description} Trace ID: ${crypto.randomUUID()} Correlation ID: ${crypto.randomUUID()} Timestamp: ${new Date().toISOString().replace('T', ' ').slice(0, 19)}Z`,
  error_codes: [code],
  timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z',
  trace_id: crypto.randomUUID(),
  correlation_id: crypto.randomUUID(),
});

/** The origin the caller used: the TLS front says so in the forwarded headers. */
const baseOf = (headers: http.IncomingHttpHeaders) => `${headers['x-forwarded-proto'] ?? 'http'}://${headers['x-forwarded-host'] ?? headers.host}`;

/** The tenant's OpenID Connect metadata, with the fields MSAL checks and the ones Entra ID always sends. */
const openIdConfiguration = (base: string, tenantId: string) => ({
  token_endpoint: `${base}/${tenantId}/oauth2/v2.0/token`,
  token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
  jwks_uri: `${base}/${tenantId}/discovery/v2.0/keys`,
  response_modes_supported: ['query', 'fragment', 'form_post'],
  subject_types_supported: ['pairwise'],
  id_token_signing_alg_values_supported: ['RS256'],
  response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
  scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
  issuer: `${base}/${tenantId}/v2.0`,
  request_uri_parameter_supported: false,
  userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
  authorization_endpoint: `${base}/${tenantId}/oauth2/v2.0/authorize`,
  device_authorization_endpoint: `${base}/${tenantId}/oauth2/v2.0/devicecode`,
  http_logout_supported: true,
  frontchannel_logout_supported: true,
  end_session_endpoint: `${base}/${tenantId}/oauth2/v2.0/logout`,
  claims_supported: [
    'sub',
    'iss',
    'cloud_instance_name',
    'cloud_instance_host_name',
    'cloud_graph_host_name',
    'msgraph_host',
    'aud',
    'exp',
    'iat',
    'auth_time',
    'acr',
    'nonce',
    'preferred_username',
    'name',
    'tid',
    'ver',
    'at_hash',
    'c_hash',
    'email',
  ],
  kerberos_endpoint: `${base}/${tenantId}/kerberos`,
  tenant_region_scope: 'EU',
  cloud_instance_name: 'microsoftonline.com',
  cloud_graph_host_name: 'graph.windows.net',
  msgraph_host: 'graph.microsoft.com',
  rbac_url: 'https://pas.windows.net',
});

let certificate: { key: string; cert: string; caFile: string } | undefined;

/** A self-signed certificate for 127.0.0.1, made once per process with the openssl command line. */
const loopbackCertificate = () => {
  if (certificate) return certificate;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-sandbox-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const caFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      caFile,
      '-days',
      '7',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  certificate = { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(caFile, 'utf8'), caFile };
  return certificate;
};

/**
 * HTTPS in front of a stand-in on `port`: every request is passed on, so it is recorded there like
 * any other, with `x-forwarded-proto` and `x-forwarded-host` saying how it arrived. For clients that
 * only send tokens over https (MSAL, the Graph SDK); `caFile` is what they must trust.
 */
export async function startTlsFront(port: number): Promise<{ url: string; caFile: string; close(): Promise<void> }> {
  const { key, cert, caFile } = loopbackCertificate();
  const server = https.createServer({ key, cert }, (req, res) => {
    const upstream = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-proto': 'https', 'x-forwarded-host': req.headers.host ?? '' } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    caFile,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
