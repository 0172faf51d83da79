import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../errors';
import { isGuid } from '../ids';

/** Who posted, once their token has checked out: a managed identity on the allow-list. */
export interface EntraCaller {
  objectId: string;
}

export interface EntraTokenOptions {
  tenantId: string;
  /** The App ID URI and/or client id: v1 tokens carry the resource as requested, v2 the client id. */
  audiences: string[];
  /** Object ids (`oid`) of the managed identities allowed to post. */
  allowedCallers: string[];
  /** `https://login.microsoftonline.com`, or a stand-in in tests. */
  authority: string;
  /** Budget for fetching the signing keys; the webhook caller waits for it. */
  timeoutMs: number;
  /** How soon a token signed by an unknown key may make us fetch the keys again. */
  refetchCooldownMs?: number;
}

/** Entra ID and the caller's clock may disagree a little; tokens live an hour or more anyway. */
const CLOCK_TOLERANCE_SECONDS = 60;
/** Anyone can mint a token with a made-up `kid`; it must not make us hammer the keys endpoint. */
const REFETCH_COOLDOWN_MS = 60_000;

/** Where the tenant publishes its signing keys, and the issuers of its v2 and v1 access tokens. */
export const entraEndpoints = (authority: string, tenantId: string) => ({
  jwksUrl: `${authority}/${tenantId}/discovery/v2.0/keys`,
  issuers: [`${authority}/${tenantId}/v2.0`, `https://sts.windows.net/${tenantId}/`],
});

const refuse = (why: string) => new AppError('UNAUTHORIZED', why);

const claimProblems: Record<string, string> = {
  aud: 'the Entra ID token is for another audience; the playbook must request it for VIGIL_WEBHOOK_AUDIENCE',
  iss: "the Entra ID token was not issued by Vigil's tenant (VIGIL_WEBHOOK_TENANT_ID)",
  nbf: 'the Entra ID token is not valid yet (check the clocks)',
  exp: 'the Entra ID token has no expiry',
  tid: "the token has no tenant (tid); only a managed identity's Entra ID access token is accepted",
  oid: "the token has no object id (oid); only a managed identity's Entra ID access token is accepted",
};

/**
 * jose's errors mapped to reasons a playbook author can act on, by code (not `instanceof`, which
 * breaks across realms). None of them quotes the token.
 */
const refusals: Record<string, (e: { claim?: string }) => AppError> = {
  ERR_JWT_EXPIRED: () => refuse('the Entra ID token has expired; the playbook must request a fresh one'),
  ERR_JWT_CLAIM_VALIDATION_FAILED: (e) => refuse(claimProblems[e.claim ?? ''] ?? `the Entra ID token's ${e.claim} claim is not acceptable`),
  ERR_JOSE_ALG_NOT_ALLOWED: () => refuse('the token must be signed by Entra ID with RS256'),
  ERR_JOSE_NOT_SUPPORTED: () => refuse('the token must be signed by Entra ID with RS256'),
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: () => refuse("the token's signature does not verify against the tenant's signing keys"),
  ERR_JWKS_NO_MATCHING_KEY: () => refuse('the token is signed with a key the tenant does not publish'),
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: () => refuse("the token does not say which of the tenant's keys signed it (kid)"),
  ERR_JWS_INVALID: () => refuse('the bearer credential is not a well-formed Entra ID token'),
  ERR_JWT_INVALID: () => refuse('the bearer credential is not a well-formed Entra ID token'),
};

const explain = (e: unknown, jwksUrl: string, timeoutMs: number): AppError => {
  const err = e as { code?: unknown; claim?: string; message?: string };
  const code = typeof err?.code === 'string' ? err.code : '';
  const refusal = refusals[code];
  if (refusal) return refusal(err);
  // Not the caller's fault: a 5xx lets the playbook retry once the keys can be read again.
  if (code === 'ERR_JWKS_TIMEOUT') return new AppError('UPSTREAM_TIMEOUT', `Entra ID signing keys (${jwksUrl}) did not arrive within ${timeoutMs} ms`);
  return new AppError('UPSTREAM_FAILED', `could not read Entra ID signing keys from ${jwksUrl}: ${err?.message ?? String(e)}`);
};

/**
 * Checks a playbook's managed identity token: RS256 signature by one of the tenant's published
 * keys (fetched with a timeout, cached, refetched for an unknown `kid` at most once a cooldown),
 * issuer, audience, `exp`/`nbf`, tenant, and the caller's object id on the allow-list. Throws
 * UNAUTHORIZED with the reason, or UPSTREAM_* when the keys cannot be read.
 */
export function createEntraTokenVerifier(o: EntraTokenOptions): (token: string) => Promise<EntraCaller> {
  const tenantId = o.tenantId.toLowerCase();
  const { jwksUrl, issuers } = entraEndpoints(o.authority, tenantId);
  const keys = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: o.timeoutMs, cooldownDuration: o.refetchCooldownMs ?? REFETCH_COOLDOWN_MS });
  const allowed = new Set(o.allowedCallers.map((id) => id.toLowerCase()));

  return async (token) => {
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, keys, {
        algorithms: ['RS256'],
        issuer: issuers,
        audience: o.audiences,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'tid', 'oid'],
      }));
    } catch (e) {
      throw explain(e, jwksUrl, o.timeoutMs);
    }
    if (String(claims.tid).toLowerCase() !== tenantId) throw refuse("the Entra ID token is from another tenant than Vigil's (VIGIL_WEBHOOK_TENANT_ID)");
    const objectId = String(claims.oid).toLowerCase();
    if (!allowed.has(objectId)) {
      const who = isGuid(objectId) ? `caller ${objectId}` : 'the caller';
      throw refuse(`${who} is not in VIGIL_WEBHOOK_ALLOWED_CALLERS; add the playbook's managed identity object id there`);
    }
    return { objectId };
  };
}
