import type { TokenCredential } from '@azure/identity';
import type { GroupMembership } from '../auth/membership';
import type { Config } from '../config';
import type { GraphClient } from '../graph/graph-client';
import type { Logger } from '../logger';
import type { SentinelClient } from '../sentinel/sentinel-client';
import type { Db } from '../store/db';
import type { StoredAction } from '../store/action-repository';
import type { Pacer } from '../teams/conversation-pacer';
import { createActionEffectHandlers } from './action-effects';
import type { ConnectorClient } from '../teams/connector-client';
import { ACTION_LABELS, type ActionKind } from './action-kinds';
import { createActionPermissions } from './action-permissions';
import { loadActionPolicy } from './action-policy';
import { createActionService } from './action-service';
import { createActionWorker, type Executors } from './action-worker';
import { createArmClient } from './executors/arm-client';
import { createDefenderClient } from './executors/defender-client';
import { createHashBlocker } from './executors/mde-indicator';
import { createMachineIsolator } from './executors/mde-isolate';
import { createNsgBlocker } from './executors/nsg-block';
import { createUserDisabler } from './executors/user-disable';
import { createVmFinder, createVmIsolator } from './executors/vm-isolate';
import { createGraphClient } from '../graph/graph-client';
import { createResponseViews } from './response-view';

/** How long a click waits for Graph to say who an account is. */
const ACCOUNT_LOOKUP_MS = 3000;

export interface ActionRuntimeDeps {
  config: Config;
  db: Db;
  credential?: TokenCredential;
  graph?: GraphClient;
  membership: GroupMembership;
  sentinel: SentinelClient;
  connector: ConnectorClient;
  logger: Logger;
  clock: () => Date;
  /** The one pacer of sends to Teams: chat card redraws count against the same budgets. */
  pacer: Pacer;
  /** The incident's card changed: deliver it now rather than at the outbox's next poll (bot only). */
  kickOutbox?: () => void;
  /** Effects were queued: run them now rather than at the job runner's next poll. */
  kickJobs?: () => void;
  workerPollMs?: number;
}

/**
 * The action service as one piece, for the bot and for `npm run worker` alike: policy (a broken
 * file stops start-up), permissions, executors from the configuration, the request/decision
 * service, the card views and the worker. Undefined when no action policy is configured.
 */
export function createActionRuntime(d: ActionRuntimeDeps) {
  const settings = d.config.actions;
  if (!settings) return undefined;
  const policy = loadActionPolicy(settings.policyFile);
  const timeoutMs = d.config.upstreamTimeoutMs;
  const arm = createArmClient({ endpoint: d.config.sentinel.armEndpoint, credential: d.credential, timeoutMs });
  const mdeEndpoint = d.config.enrichment.device?.mdeEndpoint;
  const defender = mdeEndpoint ? createDefenderClient({ endpoint: mdeEndpoint, credential: d.credential, timeoutMs }) : undefined;
  const executors: Executors = {
    nsg: settings.blockNsg && createNsgBlocker({ arm, ...settings.blockNsg }),
    vms: settings.isolationNsgIds ? createVmIsolator({ arm, isolationNsgId: settings.isolationNsgIds, subscriptionId: d.config.sentinel.subscriptionId }) : undefined,
    // Both isolation paths read the VM's tags first: Defender's too.
    vmFinder: createVmFinder({ arm, subscriptionId: d.config.sentinel.subscriptionId }),
    machines: defender && createMachineIsolator({ defender }),
    hashes: defender && createHashBlocker({ defender }),
    users: d.graph && createUserDisabler({ graph: d.graph }),
    indicators: d.sentinel,
  };
  const missing: Record<ActionKind, string | undefined> = {
    'block-ip': executors.nsg ? undefined : 'BLOCK_NSG_ID',
    'isolate-vm': executors.machines || executors.vms ? undefined : 'MDE_ENDPOINT or ISOLATION_NSG_ID',
    'disable-user': executors.users ? undefined : 'GRAPH_ENDPOINT or an Azure credential',
    'block-hash': executors.hashes ? undefined : 'MDE_ENDPOINT',
    'add-indicator': undefined,
  };
  const unavailable = (kind: ActionKind) => (missing[kind] ? `${ACTION_LABELS[kind]} is not set up in this Vigil (${missing[kind]}).` : undefined);
  const permissions = createActionPermissions(policy.kinds, d.membership);
  // A request for Disable user waits for the account's look-up in Graph: a short budget, like the membership check.
  const graphSettings = d.config.enrichment.graph;
  const lookupGraph = graphSettings && d.graph ? createGraphClient({ baseUrl: graphSettings.baseUrl, timeoutMs: Math.min(timeoutMs, ACCOUNT_LOOKUP_MS), credential: d.credential }) : undefined;
  const resolveAccount = lookupGraph && createUserDisabler({ graph: lookupGraph }).resolve;
  const views = createResponseViews({ db: d.db, permissions, enabled: (kind) => !missing[kind] });

  let worker: ReturnType<typeof createActionWorker> | undefined;
  /**
   * Every state change queued its redraws (the incident card, the chat card) and write-back in
   * the store with it; this only says "look now" to the outbox, the job runner and the worker.
   */
  const nudge = (a: StoredAction) => {
    if (a.incidentKey) d.kickOutbox?.();
    d.kickJobs?.();
    if (a.state === 'approved') worker?.kick();
  };
  worker = createActionWorker({ db: d.db, executors, guardrails: policy.guardrails, onChange: nudge, logger: d.logger, clock: d.clock, pollMs: d.workerPollMs });
  const jobHandlers = createActionEffectHandlers({ db: d.db, sentinel: d.sentinel, chat: { connector: d.connector, pacer: d.pacer, actionCard: (a) => views.actionCard(a) } });
  const service = createActionService({
    db: d.db,
    policy,
    permissions,
    unavailable,
    resolveAccount,
    onChange: nudge,
    clock: d.clock,
    logger: d.logger,
  });
  return {
    policy,
    service,
    views,
    worker,
    /** The durable effects of actions, for the process's job runner. */
    jobHandlers,
    runWorker: settings.runWorker,
    /** Stops the worker and waits for the actions in flight. */
    async close(): Promise<void> {
      await worker!.stop();
    },
  };
}

export type ActionRuntime = NonNullable<ReturnType<typeof createActionRuntime>>;
