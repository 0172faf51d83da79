import { startStandIn, type StandIn } from './stand-in';
import { MALICIOUS_IP } from './threat-intel-data';

interface Column {
  name: string;
  type: string;
}

/** Every `@'…'` literal in a query, decoded (`''` → `'`): what the query really asked about. */
export const kqlLiterals = (query: string): string[] => [...query.matchAll(/@'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'"));

const table = (columns: Column[], rows: unknown[][]) => ({ tables: [{ name: 'PrimaryResult', columns, rows }] });

const badArgument = (message: string) => ({
  status: 400,
  body: { error: { message: 'The request had some invalid properties', code: 'BadArgumentError', correlationId: '00000000-0000-0000-0000-000000000000', innererror: { code: 'SemanticError', message } } },
});

const SIGNINS: Record<string, [number, number, string[]]> = {
  'admin.jane@contoso.example': [41, 37, ['NL', 'US']],
  'bob.risky@contoso.example': [3, 0, ['BR']],
};

const SAMPLE_SIGNINS = [
  ['2026-11-24T01:10:00Z', 'admin.jane@contoso.example', MALICIOUS_IP, '50126', 'NL'],
  ['2026-11-24T01:11:30Z', 'admin.jane@contoso.example', MALICIOUS_IP, '0', 'NL'],
  ['2026-11-24T01:31:00Z', 'bob.risky@contoso.example', '198.51.100.10', '0', 'BR'],
];

/**
 * Log Analytics' query API (`POST /v1/workspaces/{id}/query`). It does not evaluate KQL: it knows
 * Vigil's named queries by shape and answers for the entity in their literal, answers `<Table> | …`
 * with sample rows for known tables, and refuses anything else the way the service does.
 */
export async function startLogAnalytics(options: { port?: number } = {}): Promise<StandIn> {
  return startStandIn(
    'loganalytics',
    [
      {
        method: 'POST',
        path: '/v1/workspaces/:workspaceId/query',
        handle: ({ body }) => {
          const query = String((body as { query?: unknown } | undefined)?.query ?? '');
          if (query.trim() === '') return badArgument('Query could not be parsed at \'\' on line [1,0]');
          const [entity = ''] = kqlLiterals(query);
          if (query.includes('UserPrincipalName =~')) {
            const [n, failed, countries] = SIGNINS[entity.toLowerCase()] ?? [0, 0, []];
            return { status: 200, body: table([{ name: 'SignIns24h', type: 'long' }, { name: 'Failed24h', type: 'long' }, { name: 'Countries', type: 'dynamic' }], [[n, failed, countries]]) };
          }
          if (query.includes('IPAddress ==')) {
            const hits = SAMPLE_SIGNINS.filter((r) => r[2] === entity);
            return { status: 200, body: table([{ name: 'SignIns24h', type: 'long' }, { name: 'Accounts', type: 'long' }, { name: 'Failed24h', type: 'long' }], [[hits.length, new Set(hits.map((r) => r[1])).size, hits.filter((r) => r[3] !== '0').length]]) };
          }
          if (query.includes('Entities has')) {
            const related = entity === MALICIOUS_IP ? [[2, [1038, 1041]]] : [[0, []]];
            return { status: 200, body: table([{ name: 'RelatedIncidents7d', type: 'long' }, { name: 'Incidents', type: 'dynamic' }], related) };
          }
          const first = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(query)?.[1];
          if (first === 'SigninLogs') {
            const take = Number(/\|\s*(?:take|limit)\s+(\d+)/.exec(query)?.[1] ?? SAMPLE_SIGNINS.length);
            return {
              status: 200,
              body: table(
                [{ name: 'TimeGenerated', type: 'datetime' }, { name: 'UserPrincipalName', type: 'string' }, { name: 'IPAddress', type: 'string' }, { name: 'ResultType', type: 'string' }, { name: 'Location', type: 'string' }],
                SAMPLE_SIGNINS.slice(0, take),
              ),
            };
          }
          return badArgument(`'where' operator: Failed to resolve table or column expression named '${first ?? query.slice(0, 40)}'`);
        },
      },
    ],
    options,
  );
}
