import { UpstreamError } from '../../http/upstream-error';
import { AppError } from '../../errors';
import { DEFENDER, type DefenderClient } from './defender-client';

const HASH = { SHA256: /^[0-9a-f]{64}$/i, SHA1: /^[0-9a-f]{40}$/i } as const;
const INDICATOR_TYPE = { SHA256: 'FileSha256', SHA1: 'FileSha1' } as const;
const INDICATOR_ID = /^\d{1,20}$/;
const RECOMMENDED_ACTIONS = 'Find the devices where this file ran, check how it arrived, and isolate them if it executed.';

export interface HashBlocker {
  /** Blocks the file everywhere Defender runs and quarantines copies it finds. */
  block(hash: string, algorithm: 'SHA256' | 'SHA1', o: { title: string; description: string; expiresAt?: Date }, signal?: AbortSignal): Promise<{ indicatorId: string }>;
  /** The Undo: deletes the indicator; `removed: false` when it was already gone. */
  unblock(indicatorId: string, signal?: AbortSignal): Promise<{ removed: boolean }>;
}

/**
 * Block file hash with a Defender for Endpoint indicator (`BlockAndRemediate`, alerting, High).
 * Defender's "Submit or Update" keys indicators on type and value, so blocking the same hash again
 * updates the one indicator and returns its id: `block` is idempotent, and so is `unblock`.
 * Throws `AppError` BAD_REQUEST for a hash or id that is not well formed, `UpstreamError` for
 * Defender's refusals (400 with its error code) and failures.
 */
export function createHashBlocker(o: { defender: DefenderClient }): HashBlocker {
  return {
    async block(hash, algorithm, d, stop) {
      if (!HASH[algorithm]?.test(hash)) throw new AppError('BAD_REQUEST', `"${hash.slice(0, 70)}" is not a ${algorithm} hash`);
      if (d.expiresAt && Number.isNaN(d.expiresAt.getTime())) throw new AppError('BAD_REQUEST', 'the indicator expiry is not a date');
      const r = await o.defender.request<{ id?: string | number }>(
        'POST',
        '/api/indicators',
        {
          indicatorValue: hash.toLowerCase(),
          indicatorType: INDICATOR_TYPE[algorithm],
          action: 'BlockAndRemediate',
          title: d.title,
          description: d.description,
          severity: 'High',
          generateAlert: true,
          recommendedActions: RECOMMENDED_ACTIONS,
          ...(d.expiresAt ? { expirationTime: d.expiresAt.toISOString() } : {}),
        },
        stop,
      );
      const id = r.body?.id;
      if (r.status === 404 || id === undefined || id === null || id === '') throw new UpstreamError(DEFENDER, 502, `Defender accepted the indicator for ${hash.slice(0, 12)}… but returned no id`);
      return { indicatorId: String(id) };
    },
    async unblock(indicatorId, stop) {
      if (!INDICATOR_ID.test(indicatorId)) throw new AppError('BAD_REQUEST', `"${indicatorId.slice(0, 40)}" is not a Defender indicator id`);
      const r = await o.defender.request('DELETE', `/api/indicators/${indicatorId}`, undefined, stop);
      return { removed: r.status !== 404 };
    },
  };
}
