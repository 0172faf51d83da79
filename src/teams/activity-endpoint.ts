import type { CloudAdapter, ConfigurationBotFrameworkAuthentication, TurnContext } from 'botbuilder';
import type { Request, Response } from 'restify';
import type { Logger } from '../logger';

export interface ActivityEndpointOptions {
  adapter: CloudAdapter;
  /** The adapter's own authentication; undefined in local mode (no app id, loopback only). */
  auth?: ConfigurationBotFrameworkAuthentication;
  logic: (context: TurnContext) => Promise<void>;
  logger: Logger;
  /** How long a request may wait for the Bot Framework's signing keys. */
  timeoutMs: number;
  /** Verifications waiting on the keys at once; more get 503 at once instead of holding a socket. */
  maxPending: number;
}

class VerificationTimeout extends Error {}

/**
 * Whether verification failed because the keys could not be had (503) rather than because the
 * token is bad (401): our timeout, a network error from the SDK's fetch, or the SDK's own
 * AuthenticationError with a 5xx status ("Failed to load openID config"). Anything else — a bad
 * signature, audience, issuer, endorsement — is the token's fault, and so is what we cannot tell.
 */
const keysUnavailable = (e: unknown): boolean => {
  if (e instanceof VerificationTimeout) return true;
  const { name, statusCode } = (e ?? {}) as { name?: unknown; statusCode?: unknown };
  return name === 'FetchError' || (typeof statusCode === 'number' && statusCode >= 500);
};

const refuse = (res: Response, status: 401 | 503, message: string) => {
  if (status === 401) res.header('WWW-Authenticate', 'Bearer');
  if (status === 503) res.header('Retry-After', '5');
  res.send(status, { error: { code: status === 401 ? 'UNAUTHORIZED' : 'UNAVAILABLE', message } });
};

/**
 * `/api/messages`. With an app id, the Bot Framework token is verified before the adapter sees the
 * activity, within `timeoutMs`: the SDK fetches signing keys with no timeout and answers a failed
 * fetch with 500 and its internal error text. Here a bad token gets 401, keys that cannot be had
 * get 503 without detail, and no request waits longer than the budget. The SDK caches the keys
 * (per metadata URL, process-wide), so the adapter's own check that follows is answered from memory.
 */
export function createActivityEndpoint(o: ActivityEndpointOptions): (req: Request, res: Response) => Promise<void> {
  let pending = 0;
  const verify = async (activity: Record<string, unknown>, authHeader: string) => {
    let timer: NodeJS.Timeout | undefined;
    pending += 1;
    try {
      await Promise.race([
        o.auth!.authenticateRequest(activity as never, authHeader),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new VerificationTimeout(`no signing keys within ${o.timeoutMs} ms`)), o.timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
      pending -= 1;
    }
  };

  return async (req, res) => {
    const activity = req.body as unknown;
    if (o.auth && activity !== null && typeof activity === 'object' && !Array.isArray(activity)) {
      const authHeader = req.header('authorization') ?? '';
      if (!authHeader) return refuse(res, 401, 'a Bot Framework token is required');
      if (pending >= o.maxPending) {
        o.logger.warn({ pending }, 'Bot Framework token verification backlog; refusing');
        return refuse(res, 503, 'Bot Framework tokens cannot be verified right now; try again shortly');
      }
      try {
        await verify(activity as Record<string, unknown>, authHeader);
      } catch (e) {
        const reason = e instanceof Error ? e.message.slice(0, 200) : String(e);
        if (keysUnavailable(e)) {
          o.logger.error({ reason }, 'Bot Framework signing keys unavailable');
          return refuse(res, 503, 'Bot Framework tokens cannot be verified right now; try again shortly');
        }
        o.logger.warn({ reason }, 'activity refused: Bot Framework token not valid');
        return refuse(res, 401, 'the Bot Framework token is not valid');
      }
    }
    await o.adapter.process(req, res, o.logic);
  };
}
