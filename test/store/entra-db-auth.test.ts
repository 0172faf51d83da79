import fs from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startEntra, type EntraStandIn } from '../../sandbox/entra';
import { createAzureCredential } from '../../src/azure-credential';
import { loadConfig } from '../../src/config';
import type { Db } from '../../src/store/db';
import { connectDb } from '../../src/store/open-db';

const DATABASE_URL = process.env.DATABASE_URL;
const CLIENT_ID = '2f0d7c44-5b1e-4d0a-9e53-00000000db01';
const OBJECT_ID = '9d1c2b3a-0000-4000-8000-00000000db01';
const SECRET = 'sandbox-db-client-secret';
const DB_AUDIENCE = 'https://ossrdbms-aad.database.windows.net';

interface SignIn {
  user: string;
  password: string;
}

/**
 * Azure Database for PostgreSQL's side of Entra sign-in: it asks for a cleartext password (over
 * TLS in Azure) and takes an Entra ID token there. This front does the same in front of the local
 * server (whose trust authentication never asks): it demands the password, refuses anything but a
 * token the sandbox Entra issued for the database, then hands the session to the real server.
 */
async function startEntraPostgresFront(target: { host: string; port: number }, entra: EntraStandIn) {
  const signIns: SignIn[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let startup: Buffer | undefined;
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!startup) {
        if (buffered.length < 8) return;
        const length = buffered.readInt32BE(0);
        if (buffered.length < length) return;
        const message = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        if (message.readInt32BE(4) === 80877103) {
          client.write('N'); // SSLRequest: no TLS on loopback
          return onData(Buffer.alloc(0));
        }
        startup = Buffer.from(message);
        client.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
      }
      if (buffered.length < 5 || buffered[0] !== 0x70) return;
      const length = buffered.readInt32BE(1);
      if (buffered.length < length + 1) return;
      const password = buffered.subarray(5, length).toString('utf8').replace(/\0$/, '');
      const rest = buffered.subarray(length + 1);
      client.off('data', onData);
      const fields = startup.subarray(8).toString('utf8').split('\0');
      const user = fields[fields.indexOf('user') + 1] ?? '';
      signIns.push({ user, password });
      if (!entra.issued.some((t) => t.token === password && t.audience === DB_AUDIENCE)) {
        const text = `SFATAL\0C28P01\0Mpassword authentication failed for user "${user}"\0\0`;
        const error = Buffer.alloc(5 + Buffer.byteLength(text));
        error.write('E', 0);
        error.writeInt32BE(4 + Buffer.byteLength(text), 1);
        error.write(text, 5);
        client.end(error);
        return;
      }
      const upstream = net.connect(target, () => {
        upstream.write(startup!);
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    signIns,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const maybe = DATABASE_URL ? describe : describe.skip;

maybe('PostgreSQL with Entra ID sign-in (VIGIL_DATABASE_AUTH=entra)', () => {
  let entra: EntraStandIn;
  let front: Awaited<ReturnType<typeof startEntraPostgresFront>>;
  let ca: string;
  const target = new URL(DATABASE_URL ?? 'postgres://127.0.0.1:5432/test');

  beforeAll(async () => {
    entra = await startEntra({ tls: true });
    ca = fs.readFileSync(entra.caFile!, 'utf8');
    entra.registerApp({ clientId: CLIENT_ID, objectId: OBJECT_ID, clientSecret: SECRET });
    front = await startEntraPostgresFront({ host: target.hostname, port: Number(target.port || 5432) }, entra);
  });
  afterAll(async () => {
    await front.close();
    await entra.close();
  });
  beforeEach(() => {
    entra.reset();
    front.signIns.length = 0;
  });

  const settings = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: `postgres://${target.username || 'postgres'}@127.0.0.1:${front.port}${target.pathname}`,
    VIGIL_DATABASE_AUTH: 'entra',
    AZURE_TENANT_ID: entra.tenantId,
    AZURE_CLIENT_ID: CLIENT_ID,
    AZURE_CLIENT_SECRET: SECRET,
    AZURE_AUTHORITY_HOST: entra.authorityHost!,
    ...overrides,
  });
  const open = (env: Record<string, string>) => {
    const { database } = loadConfig(env);
    if (database.kind !== 'pg' || !database.entra) throw new Error('expected Entra sign-in to PostgreSQL');
    return connectDb(database, { credential: createAzureCredential(database.entra, { tlsOptions: { ca } }) });
  };

  it('signs in with a token the credential fetched for the database scope, and queries', async () => {
    const db = await open(settings());
    try {
      const { rows } = await db.query<{ who: string }>('SELECT current_user AS who');
      expect(rows[0]!.who).toBe(target.username || 'postgres');
    } finally {
      await db.close();
    }
    const asked = entra.requests('POST', '/:tenant/oauth2/v2.0/token').map((r) => new URLSearchParams(r.body as string));
    expect(asked.map((f) => [f.get('client_id'), f.get('scope')])).toEqual([[CLIENT_ID, `${DB_AUDIENCE}/.default`]]);
    expect(front.signIns).toHaveLength(1);
    expect(front.signIns[0]).toEqual({ user: target.username || 'postgres', password: entra.issued[0]!.token });
  });

  it('asks the credential on every new pooled connection, which answers from its cache', async () => {
    const db: Db = await open(settings());
    try {
      await db.query('SELECT 1');
      // Three transactions at once hold three connections: the idle one and two new ones.
      await Promise.all([1, 2, 3].map(() => db.transaction(async (tx) => tx.query('SELECT pg_sleep(0.1)'))));
    } finally {
      await db.close();
    }
    expect(front.signIns).toHaveLength(3);
    expect(entra.issued).toHaveLength(1);
    expect(front.signIns.every((s) => s.password === entra.issued[0]!.token)).toBe(true);
  });

  it('fails to connect when Entra ID refuses the credential, and the server never sees a password', async () => {
    const db = await open(settings({ AZURE_CLIENT_SECRET: 'not-the-secret' }));
    try {
      await expect(db.query('SELECT 1')).rejects.toThrow(/invalid_client|AADSTS7000215|Invalid client secret/);
    } finally {
      await db.close();
    }
    expect(front.signIns).toHaveLength(0);
  });

  it('is refused by a server that gets something other than a database token', async () => {
    const db = await connectDb(
      { kind: 'pg', url: settings().DATABASE_URL, entra: { managedIdentity: false } },
      { credential: { getToken: async () => ({ token: 'not-a-token', expiresOnTimestamp: Date.now() + 60_000 }) } },
    );
    try {
      await expect(db.query('SELECT 1')).rejects.toThrow(/password authentication failed/);
    } finally {
      await db.close();
    }
  });
});

describe('the settings for Entra sign-in to PostgreSQL', () => {
  const url = 'postgres://vigil-identity@vigil-db.postgres.database.azure.com:5432/vigil?sslmode=require';
  const mi = { AZURE_USE_MANAGED_IDENTITY: 'true', AZURE_CLIENT_ID: '2f0d7c44-5b1e-4d0a-9e53-00000000db01' };

  it('is password sign-in (whatever DATABASE_URL says) unless VIGIL_DATABASE_AUTH=entra', () => {
    expect(loadConfig({ DATABASE_URL: url }).database).toEqual({ kind: 'pg', url });
    expect(loadConfig({ DATABASE_URL: url, VIGIL_DATABASE_AUTH: 'entra', ...mi }).database).toEqual({
      kind: 'pg',
      url,
      entra: { clientId: mi.AZURE_CLIENT_ID, managedIdentity: true, authorityHost: 'https://login.microsoftonline.com' },
    });
  });

  it('refuses entra without an Azure credential, with a password in the URL, without a role, or without DATABASE_URL', () => {
    expect(() => loadConfig({ DATABASE_URL: url, VIGIL_DATABASE_AUTH: 'entra' })).toThrow(/VIGIL_DATABASE_AUTH: entra needs an Azure credential/);
    expect(() => loadConfig({ DATABASE_URL: url.replace('vigil-identity@', 'vigil-identity:hunter2@'), VIGIL_DATABASE_AUTH: 'entra', ...mi })).toThrow(/DATABASE_URL: has a password/);
    expect(() => loadConfig({ DATABASE_URL: url.replace('vigil-identity@', ''), VIGIL_DATABASE_AUTH: 'entra', ...mi })).toThrow(/DATABASE_URL: name the database role/);
    expect(() => loadConfig({ VIGIL_DATABASE_AUTH: 'entra', ...mi })).toThrow(/VIGIL_DATABASE_AUTH: entra signs in .* set DATABASE_URL/);
    expect(() => loadConfig({ VIGIL_DATABASE_AUTH: 'kerberos' })).toThrow(/VIGIL_DATABASE_AUTH:/);
  });

  it('lists the password and the missing credential together', () => {
    let message = '';
    try {
      loadConfig({ DATABASE_URL: url.replace('vigil-identity@', 'vigil-identity:hunter2@'), VIGIL_DATABASE_AUTH: 'entra' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/needs an Azure credential[\s\S]*has a password/);
    expect(message).not.toContain('hunter2');
  });

  it('wants an https authority host, and disables instance discovery only off Microsoft hosts', () => {
    expect(() => loadConfig({ AZURE_AUTHORITY_HOST: 'http://127.0.0.1:4000' })).toThrow(/AZURE_AUTHORITY_HOST: must be an https URL/);
    expect(loadConfig({ AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us/' }).azure.authorityHost).toBe('https://login.microsoftonline.us');
  });
});
