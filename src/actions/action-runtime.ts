import type { TokenCredential } from '@azure/identity';
import type { GroupMembership } from '../auth/membership';
import type { Config } from '../config';
import type { GraphClient } from '../graph/graph-client';
import type { Logger } from '../logger';
import type { SentinelClient } from '../sentinel/sentinel-client';
import type { Db } from '../store/db';
import { bumpIncidentVersion } from '../store/incident-repository';
import { getAction, type StoredAction } from '../store/action-repository';
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
  /** The incident's card changed: deliver it now rather than at the outbox's next poll (bot only). */
  kickOutbox?: () => void;
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

  /**
   * A request made in chat has its card there. It is redrawn off the click's path (a click answers
   * without waiting for the Bot Connector), one update at a time per action, each from the action
   * as the store has it then, so a late update never shows an older state.
   */
  const chatCards = new Map<string, Promise<void>>();
  const redrawChatCard = (id: string) => {
    const next = (chatCards.get(id) ?? Promise.resolve())
      .then(async () => {
        const a = await getAction(d.db, id);
        if (!a?.card?.activityId) return;
        await d.connector.updateActivity(a.card.serviceUrl, a.card.conversationId, a.card.activityId, { type: 'message', attachments: [await views.actionCard(a)] });
      })
      .catch((e: unknown) => d.logger.warn({ err: e, action: id }, 'could not update the request card in chat'))
      .finally(() => {
        if (chatCards.get(id) === next) chatCards.delete(id);
      });
    chatCards.set(id, next);
  };

  let worker: ReturnType<typeof createActionWorker> | undefined;
  /** Every state change redraws the cards that show the action, wherever they are. */
  const redraw = async (a: StoredAction) => {
    if (a.incidentKey) {
      await bumpIncidentVersion(d.db, a.incidentKey);
      d.kickOutbox?.();
    }
    if (a.card?.activityId) redrawChatCard(a.id);
    if (a.state === 'approved') worker?.kick();
  };
  worker = createActionWorker({ db: d.db, executors, guardrails: policy.guardrails, sentinel: d.sentinel, onChange: redraw, logger: d.logger, clock: d.clock, pollMs: d.workerPollMs });
  const service = createActionService({
    db: d.db,
    policy,
    permissions,
    unavailable,
    resolveAccount,
    onChange: redraw,
    clock: d.clock,
    logger: d.logger,
  });
  return {
    policy,
    service,
    views,
    worker,
    runWorker: settings.runWorker,
    /** Stops the worker and waits for what is in flight, card updates included. */
    async close(): Promise<void> {
      await worker!.stop();
      await Promise.all([...chatCards.values()]);
    },
  };
}

export type ActionRuntime = NonNullable<ReturnType<typeof createActionRuntime>>;
