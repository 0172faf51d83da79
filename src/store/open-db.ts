import type { TokenCredential } from '@azure/identity';
import { createAzureCredential } from '../azure-credential';
import type { Config } from '../config';
import { AppError } from '../errors';
import type { Db } from './db';
import { migrate } from './migrations';
import { createPgDb } from './pg-db';
import { createPgliteDb } from './pglite-db';

/** The scope Azure Database for PostgreSQL takes Entra ID tokens for. */
export const POSTGRES_ENTRA_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/**
 * The password for each new PostgreSQL connection when it signs in with Entra ID: a token for
 * the database scope, from the credential's cache while it is fresh. Throws when no token comes.
 */
export const entraPassword = (credential: TokenCredential) => async (): Promise<string> => {
  const token = await credential.getToken(POSTGRES_ENTRA_SCOPE);
  if (!token?.token) throw new AppError('UPSTREAM_FAILED', 'Entra ID gave no token for the database (VIGIL_DATABASE_AUTH=entra)');
  return token.token;
};

/**
 * Opens the configured database without touching its schema (`npm run doctor` reads, never
 * migrates). `credential` overrides the one built from the settings for Entra sign-in.
 */
export async function connectDb(database: Config['database'], options: { credential?: TokenCredential } = {}): Promise<Db> {
  if (database.kind === 'pglite') return createPgliteDb(database.dataDir);
  if (!database.entra) return createPgDb(database.url);
  const credential = options.credential ?? createAzureCredential(database.entra);
  if (!credential) throw new AppError('CONFIG_INVALID', 'VIGIL_DATABASE_AUTH=entra needs an Azure credential');
  return createPgDb(database.url, { password: entraPassword(credential) });
}

/** Opens the configured database and brings its schema up to date. */
export async function openDb(database: Config['database'], options: { credential?: TokenCredential } = {}): Promise<Db> {
  const db = await connectDb(database, options);
  await migrate(db);
  return db;
}
