import crypto from 'node:crypto';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { claimRunnableActions, type StoredAction } from '../store/action-repository';
import { audit } from '../store/page-repository';
import { isAppError } from '../errors';
import { ACTION_LABELS } from './action-kinds';
import { ArmError } from './executors/arm-client';
import type { NsgBlocker } from './executors/nsg-block';
import type { UserDisabler } from './executors/user-disable';
import type { VmIsolator } from './executors/vm-isolate';

export interface Executors {
  nsg?: NsgBlocker;
  users?: UserDisabler;
  vms?: VmIsolator;
}

export interface ActionWorkerOptions {
  db: Db;
  executors: Executors;
  /** Comment on the incident; failures are recorded, never retried into a second comment. */
  comment?: (incidentArmId: string, commentId: string, message: string) => Promise<void>;
  logger: Logger;
  clock?: () => Date;
  leaseMs?: number;
  maxAttempts?: number;
}

type Outcome = { ok: true; detail: Record<string, unknown> } | { ok: false; retry: boolean; error: string };

const RETRIABLE_STATUS = new Set([0, 409, 412, 429, 500, 502, 503, 504]);

/**
 * The action service's loop: claims approved actions (`SKIP LOCKED`, with a lease), runs the
 * executor, records every attempt, retries what can succeed later (throttled, conflicting, down),
 * and writes the outcome to the Sentinel incident. A process that dies mid-run leaves a lease that
 * runs out; the executors are idempotent (a second block of the same address changes nothing).
 */
export function createActionWorker(o: ActionWorkerOptions) {
  const clock = o.clock ?? (() => new Date());
  const maxAttempts = o.maxAttempts ?? 5;

  const execute = async (a: StoredAction): Promise<Outcome> => {
    try {
      const t = a.target;
      if (t.kind === 'block-ip' && o.executors.nsg) return { ok: true, detail: await o.executors.nsg.block(t.ip) };
      if (t.kind === 'disable-user' && o.executors.users) return { ok: true, detail: await o.executors.users.disable(t.user) };
      if (t.kind === 'isolate-vm' && o.executors.vms) return { ok: true, detail: await o.executors.vms.isolate(t.vmId ?? t.host) };
      return { ok: false, retry: false, error: `${ACTION_LABELS[t.kind]} is not configured in this Vigil` };
    } catch (e) {
      const status = e instanceof ArmError ? e.status : (e as { status?: number }).status ?? 0;
      const message = e instanceof Error ? e.message : String(e);
      return { ok: false, retry: RETRIABLE_STATUS.has(status) && !isAppError(e), error: message.slice(0, 300) };
    }
  };

  const runOne = async (a: StoredAction) => {
    const started = clock();
    const outcome = await execute(a);
    const ended = clock();
    await o.db.query('INSERT INTO action_attempts (action_id, attempt, started_at, ended_at, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)', [
      a.id,
      a.attempts,
      started,
      ended,
      outcome.ok ? 'succeeded' : outcome.retry && a.attempts < maxAttempts ? 'retrying' : 'failed',
      outcome.ok ? outcome.detail : { error: outcome.error },
    ]);
    if (!outcome.ok && outcome.retry && a.attempts < maxAttempts) {
      await o.db.query(
        `UPDATE actions SET state = 'approved', claimed_until = NULL, next_attempt_at = $2::timestamptz + make_interval(secs => $3), version = version + 1, updated_at = now() WHERE id = $1 AND state = 'running'`,
        [a.id, ended, Math.min(60, 2 ** a.attempts)],
      );
      return;
    }
    const state = outcome.ok ? 'succeeded' : 'failed';
    await o.db.query(`UPDATE actions SET state = $2, result = $3, claimed_until = NULL, version = version + 1, updated_at = now() WHERE id = $1 AND state = 'running'`, [
      a.id,
      state,
      outcome.ok ? outcome.detail : { error: outcome.error },
    ]);
    await audit(o.db, 'vigil', `action.${state}`, a.incidentKey ?? a.id, { action: a.id, target: a.target, ...(outcome.ok ? {} : { error: outcome.error }) });
    if (a.incidentKey && o.comment) {
      const armId = (await o.db.query<{ arm_id: string }>('SELECT arm_id FROM incidents WHERE key = $1', [a.incidentKey])).rows[0]?.arm_id;
      const message = `Vigil: ${ACTION_LABELS[a.kind]} ${state} (${JSON.stringify(a.target).slice(0, 200)}). Requested by ${a.requestedBy}; approved by ${a.approvals.join(', ') || 'nobody'}; took ${ended.getTime() - started.getTime()} ms.${outcome.ok ? '' : ` Error: ${outcome.error}`}`;
      // The comment id comes from the action: a retried write-back replaces, never duplicates.
      const commentId = crypto.createHash('sha256').update(`${a.id}:${state}`).digest('hex').slice(0, 32);
      if (armId) await o.comment(armId, commentId, message).catch((e: unknown) => o.logger.warn({ err: e, action: a.id }, 'could not comment on the incident'));
    }
  };

  return {
    /** Runs what is due now; returns how many actions it ran. */
    async tick(): Promise<number> {
      const claimed = await claimRunnableActions(o.db, 10, o.leaseMs ?? 120_000, clock());
      await Promise.all(claimed.map(runOne));
      return claimed.length;
    },
  };
}
