import { randomUUID } from 'node:crypto';
import { startStandIn, type Reply, type StandIn } from './stand-in';

export interface SandboxMachine {
  id: string;
  computerDnsName: string;
  healthStatus: 'Active' | 'Inactive' | 'ImpairedCommunication' | 'NoSensorData';
  riskScore: 'None' | 'Low' | 'Medium' | 'High';
  exposureLevel: 'None' | 'Low' | 'Medium' | 'High';
  /** Where the device runs, as Defender records it: for an Azure VM, its ARM id. */
  vmMetadata?: { vmId: string; cloudProvider: 'Azure'; resourceId: string; subscriptionId: string } | null;
  isolated?: boolean;
}

export const SANDBOX_MACHINES: SandboxMachine[] = [
  { id: '7b1f4967d9728e5aa3c06a9e617a22a4a5a17378', computerDnsName: 'web-01.contoso.example', healthStatus: 'Active', riskScore: 'High', exposureLevel: 'Medium' },
];

/** The sandbox app's identity, as Defender records it for actions and indicators submitted through the API. */
export const SANDBOX_DEFENDER_APP = 'c0ffee00-0000-4000-8000-00000000d3fe';

/** A MachineAction in Defender's published shape (machineaction.md, plus the fields real answers carry). */
export interface SandboxMachineAction {
  id: string;
  type: 'Isolate' | 'Unisolate';
  title: string | null;
  scope: string | null;
  requestor: string;
  requestorComment: string;
  status: 'Pending' | 'InProgress' | 'Succeeded' | 'Failed' | 'TimeOut' | 'Cancelled';
  machineId: string;
  computerDnsName: string;
  creationDateTimeUtc: string;
  lastUpdateDateTimeUtc: string;
  cancellationRequestor: null;
  cancellationComment: null;
  cancellationDateTimeUtc: null;
  errorHResult: number;
  requestSource: string;
  relatedFileInfo: null;
  commands: unknown[];
  externalId: null;
  troubleshootInfo: null;
}

/** An Indicator in Defender's published shape (ti-indicator.md). */
export interface SandboxIndicator {
  id: string;
  indicatorValue: string;
  indicatorType: string;
  action: string;
  application: string | null;
  source: string;
  sourceType: 'AadApp';
  createdBy: string;
  createdBySource: string;
  severity: string | null;
  title: string;
  description: string;
  recommendedActions: string | null;
  generateAlert: boolean;
  creationTimeDateTimeUtc: string;
  expirationTime: string | null;
  lastUpdateTime: string;
  lastUpdatedBy: string | null;
  rbacGroupNames: string[];
  rbacGroupIds: string[];
}

/** Switches for the write side: how many polls an action answers before it ends, and whether the next one ends Failed. */
export interface DefenderControl {
  pollsPerAction: number;
  failNextAction: boolean;
}

const API = 'https://api.securitycenter.microsoft.com/api';
const ISOLATION_TYPES = ['Full', 'Selective', 'UnManagedDevice'];
const INDICATOR_TYPES = ['FileSha1', 'FileMd5', 'CertificateThumbprint', 'FileSha256', 'IpAddress', 'DomainName', 'Url'];
const INDICATOR_ACTIONS = ['Alert', 'Warn', 'Block', 'Audit', 'BlockAndRemediate', 'AlertAndBlock', 'Allowed'];
const SEVERITIES = ['Informational', 'Low', 'Medium', 'High'];
const HASH_LENGTH: Record<string, number> = { FileSha1: 40, FileSha256: 64, FileMd5: 32 };
const INDICATOR_FIELDS = [
  'indicatorValue',
  'indicatorType',
  'action',
  'application',
  'title',
  'description',
  'expirationTime',
  'severity',
  'recommendedActions',
  'rbacGroupNames',
  'educateUrl',
  'generateAlert',
];

const odataEq = (filter: string | undefined, field: string): string | undefined => {
  const m = new RegExp(`^${field} eq '((?:[^']|'')*)'$`).exec(filter?.trim() ?? '');
  return m ? m[1]!.replace(/''/g, "'") : undefined;
};

/** Defender's error body: `target` is the correlation id. */
const error = (status: number, code: string, message: string): Reply => ({ status, body: { error: { code, message, target: randomUUID() } } });
const invalidBody = () => error(400, 'InvalidRequestBody', 'Request body is incorrect');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const now = () => new Date().toISOString();

/**
 * Defender for Endpoint: machines and machine actions filtered with OData `eq`, isolate/unisolate
 * machine actions that run through Pending → InProgress → Succeeded as they are polled, and file
 * indicators (Submit or Update, List, Delete), in its shapes and with its body checks (parameter
 * names are case-sensitive). A machine flagged `isolated` with no actions of its own lists one
 * succeeded Isolate, so enrichment reads it as isolated.
 */
export async function startDefender(
  options: { port?: number; machines?: SandboxMachine[]; pollsPerAction?: number } = {},
): Promise<StandIn & { machines: SandboxMachine[]; machineActions: SandboxMachineAction[]; indicators: SandboxIndicator[]; control: DefenderControl }> {
  const machines = options.machines ?? SANDBOX_MACHINES.map((m) => ({ ...m }));
  const initiallyIsolated = machines.map((m) => m.isolated);
  const defaultControl = (): DefenderControl => ({ pollsPerAction: options.pollsPerAction ?? 2, failNextAction: false });
  const control = defaultControl();
  const machineActions: SandboxMachineAction[] = [];
  const progress = new Map<string, { polls: number; outcome: 'Succeeded' | 'Failed' }>();
  const indicators: SandboxIndicator[] = [];
  let nextIndicatorId = 1001;

  const badFilter = (filter?: string) => ({ status: 400, body: { error: { code: 'InvalidRequest', message: `Invalid filter: ${filter}`, target: '00000000-0000-0000-0000-000000000000' } } });
  const machineById = (id: string) => machines.find((m) => m.id === id.toLowerCase());
  const isolationActions = (m: SandboxMachine) => machineActions.filter((a) => a.machineId === m.id);
  const actionFields = (m: SandboxMachine, type: SandboxMachineAction['type'], scope: string | null, comment: string): SandboxMachineAction => {
    const at = now();
    return {
      id: randomUUID(),
      type,
      title: null,
      scope,
      requestor: SANDBOX_DEFENDER_APP,
      requestorComment: comment,
      status: 'Pending',
      machineId: m.id,
      computerDnsName: m.computerDnsName,
      creationDateTimeUtc: at,
      lastUpdateDateTimeUtc: at,
      cancellationRequestor: null,
      cancellationComment: null,
      cancellationDateTimeUtc: null,
      errorHResult: 0,
      requestSource: 'PublicApi',
      relatedFileInfo: null,
      commands: [],
      externalId: null,
      troubleshootInfo: null,
    };
  };

  /** What a machine flagged `isolated` by hand (no actions of its own) shows: one old, succeeded Isolate. */
  const standingIsolation = (m: SandboxMachine): SandboxMachineAction[] =>
    m.isolated && isolationActions(m).length === 0
      ? [
          {
            ...actionFields(m, 'Isolate', 'Full', 'Isolated before the sandbox started'),
            id: `00000000-0000-4000-8000-${m.id.slice(0, 12)}`,
            status: 'Succeeded',
            creationDateTimeUtc: '2026-11-24T00:00:00Z',
            lastUpdateDateTimeUtc: '2026-11-24T00:01:00Z',
          },
        ]
      : [];
  const actionsOf = (m: SandboxMachine) => [...isolationActions(m), ...standingIsolation(m)];

  const requestIsolation = (type: SandboxMachineAction['type'], machineId: string, body: unknown): Reply => {
    const m = machineById(machineId);
    if (!m) return error(404, 'ResourceNotFound', `Machine ${machineId} was not found`);
    const allowed = type === 'Isolate' ? ['Comment', 'IsolationType'] : ['Comment'];
    if (!isObject(body) || typeof body.Comment !== 'string' || Object.keys(body).some((k) => !allowed.includes(k))) return invalidBody();
    if (type === 'Isolate' && body.IsolationType !== undefined && !ISOLATION_TYPES.includes(body.IsolationType as string)) return invalidBody();
    if (machineActions.some((a) => a.machineId === m.id && a.type === type && (a.status === 'Pending' || a.status === 'InProgress'))) {
      return error(400, 'ActiveRequestAlreadyExists', 'Action is already in progress');
    }
    const action = actionFields(m, type, type === 'Isolate' ? ((body.IsolationType as string | undefined) ?? 'Full') : null, body.Comment);
    machineActions.push(action);
    progress.set(action.id, { polls: 0, outcome: control.failNextAction ? 'Failed' : 'Succeeded' });
    control.failNextAction = false;
    return { status: 201, body: { '@odata.context': `${API}/$metadata#MachineActions/$entity`, ...action } };
  };

  /** Each poll moves the action on: InProgress for `pollsPerAction` polls, then its outcome. */
  const poll = (a: SandboxMachineAction) => {
    const p = progress.get(a.id);
    if (!p || (a.status !== 'Pending' && a.status !== 'InProgress')) return;
    p.polls += 1;
    a.status = p.polls > control.pollsPerAction ? p.outcome : 'InProgress';
    a.lastUpdateDateTimeUtc = now();
    if (a.status === 'Succeeded') machineById(a.machineId)!.isolated = a.type === 'Isolate';
  };

  const submitIndicator = (body: unknown): Reply => {
    if (!isObject(body) || Object.keys(body).some((k) => !INDICATOR_FIELDS.includes(k))) return invalidBody();
    for (const field of ['indicatorValue', 'indicatorType', 'action', 'title', 'description']) {
      if (typeof body[field] !== 'string' || body[field] === '') return error(400, 'MissingRequiredParameter', `Parameter ${field} is missing.`);
    }
    const b = body as Record<string, unknown> & { indicatorValue: string; indicatorType: string; action: string; title: string; description: string };
    if (!INDICATOR_TYPES.includes(b.indicatorType) || !INDICATOR_ACTIONS.includes(b.action)) return invalidBody();
    if (b.severity !== undefined && !SEVERITIES.includes(b.severity as string)) return invalidBody();
    if (b.generateAlert !== undefined && typeof b.generateAlert !== 'boolean') return invalidBody();
    if (b.expirationTime !== undefined && (typeof b.expirationTime !== 'string' || Number.isNaN(Date.parse(b.expirationTime)))) return invalidBody();
    const hashLength = HASH_LENGTH[b.indicatorType];
    if (hashLength && !new RegExp(`^[0-9a-fA-F]{${hashLength}}$`).test(b.indicatorValue)) return error(400, 'InvalidHashValue', `Hash value ${b.indicatorValue} is invalid.`);
    const at = now();
    const existing = indicators.find((i) => i.indicatorType === b.indicatorType && i.indicatorValue.toLowerCase() === b.indicatorValue.toLowerCase());
    const indicator: SandboxIndicator = {
      id: existing?.id ?? String(nextIndicatorId++),
      indicatorValue: b.indicatorValue,
      indicatorType: b.indicatorType,
      action: b.action,
      application: existing ? existing.application : ((b.application as string | undefined) ?? null),
      source: SANDBOX_DEFENDER_APP,
      sourceType: 'AadApp',
      createdBy: SANDBOX_DEFENDER_APP,
      createdBySource: 'Vigil sandbox',
      severity: (b.severity as string | undefined) ?? null,
      title: b.title,
      description: b.description,
      recommendedActions: (b.recommendedActions as string | undefined) ?? null,
      generateAlert: (b.generateAlert as boolean | undefined) ?? false,
      creationTimeDateTimeUtc: existing?.creationTimeDateTimeUtc ?? at,
      expirationTime: (b.expirationTime as string | undefined) ?? null,
      lastUpdateTime: at,
      lastUpdatedBy: existing ? SANDBOX_DEFENDER_APP : null,
      rbacGroupNames: (b.rbacGroupNames as string[] | undefined) ?? [],
      rbacGroupIds: [],
    };
    if (existing) indicators.splice(indicators.indexOf(existing), 1, indicator);
    else indicators.push(indicator);
    return { status: 200, body: { '@odata.context': `${API}/$metadata#Indicators/$entity`, ...indicator } };
  };

  const standIn = await startStandIn(
    'defender',
    [
      {
        method: 'GET',
        path: '/api/machines',
        handle: ({ query }) => {
          const dns = odataEq(query.$filter, 'computerDnsName');
          if (query.$filter && dns === undefined) return badFilter(query.$filter);
          const value = machines.filter((m) => dns === undefined || m.computerDnsName === dns).map(({ isolated: _i, ...m }) => ({ ...m, osPlatform: 'Windows10', lastSeen: '2026-11-24T01:00:00Z' }));
          return { status: 200, body: { '@odata.context': `${API}/$metadata#Machines`, value } };
        },
      },
      { method: 'POST', path: '/api/machines/:id/isolate', handle: ({ params, body }) => requestIsolation('Isolate', params.id!, body) },
      { method: 'POST', path: '/api/machines/:id/unisolate', handle: ({ params, body }) => requestIsolation('Unisolate', params.id!, body) },
      {
        method: 'GET',
        path: '/api/machineactions',
        handle: ({ query }) => {
          const id = odataEq(query.$filter, 'machineId');
          if (query.$filter && id === undefined) return badFilter(query.$filter);
          const value = machines.filter((m) => id === undefined || m.id === id.toLowerCase()).flatMap(actionsOf);
          return { status: 200, body: { '@odata.context': `${API}/$metadata#MachineActions`, value } };
        },
      },
      {
        method: 'GET',
        path: '/api/machineactions/:id',
        handle: ({ params }) => {
          const action = machines.flatMap(actionsOf).find((a) => a.id === params.id);
          if (!action) return error(404, 'ResourceNotFound', `MachineAction ${params.id} was not found`);
          poll(action);
          return { status: 200, body: { '@odata.context': `${API}/$metadata#MachineActions/$entity`, ...action } };
        },
      },
      { method: 'POST', path: '/api/indicators', handle: ({ body }) => submitIndicator(body) },
      { method: 'GET', path: '/api/indicators', handle: () => ({ status: 200, body: { '@odata.context': `${API}/$metadata#Indicators`, value: indicators } }) },
      {
        method: 'DELETE',
        path: '/api/indicators/:id',
        handle: ({ params }) => {
          const i = indicators.findIndex((x) => x.id === params.id);
          if (i < 0) return error(404, 'ResourceNotFound', `Indicator ${params.id} was not found`);
          indicators.splice(i, 1);
          return { status: 204 };
        },
      },
    ],
    options,
  );
  return {
    ...standIn,
    machines,
    machineActions,
    indicators,
    control,
    reset() {
      standIn.reset();
      machineActions.length = 0;
      indicators.length = 0;
      progress.clear();
      Object.assign(control, defaultControl());
      machines.forEach((m, i) => (m.isolated = initiallyIsolated[i]));
    },
  };
}
