import { untrusted } from '../../cards/markdown';
import { fitCard } from '../../cards/budget';
import { renderCard } from '../../cards/render-card';
import { KqlError } from '../../enrichment/kql-runner';
import type { Command } from '../command';
import { workspaceLabel } from '../../workspaces/workspaces';

const MAX_COLUMNS = 8;
const MAX_CELL = 60;
/** Rows and cell length per level of detail: up to 1,000 rows may come back, a message holds far fewer. */
const KQL_DETAIL = [
  { rows: 50, cell: MAX_CELL },
  { rows: 25, cell: 40 },
  { rows: 10, cell: 30 },
  { rows: 3, cell: 20 },
];
/**
 * The longest query: above the 4,000 characters of other commands, because a hunting query with
 * a few joins and a pasted list of indicators easily passes that; still far inside Teams' ~28 KB
 * message, and the card echoes only its first 500 characters.
 */
const MAX_QUERY = 10_000;

/** Whitespace and `//` comments, which Kusto skips before the first token. */
const LEADING = /^(?:\s+|\/\/[^\n]*(?:\n|$))*/;

/**
 * The control command (`.drop table …`, `.set-or-append …`) a query is, or holds after a `;`:
 * Kusto reads a first token starting with `.` as a management command, never as a query.
 * Undefined for a query. Pure.
 */
export function controlCommandIn(query: string): string | undefined {
  for (const part of [query, ...query.split(';').slice(1)]) {
    const rest = part.replace(LEADING, '');
    if (rest.startsWith('.')) return rest.split(/\s/, 1)[0]!;
  }
  return undefined;
}

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (Object.prototype.toString.call(v) === '[object Date]') return (v as Date).toISOString();
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
};

/** `workspace=fabrikam SigninLogs | take 5`: the workspace a query names first (the first listed otherwise), and the query. */
export function splitWorkspace(args: string): { workspace?: string; query: string } {
  const m = /^workspace=(\S+)\s*/i.exec(args);
  return m ? { workspace: m[1]!, query: args.slice(m[0].length).trim() } : { query: args };
}

/**
 * Runs an analyst's query against a workspace (`workspace=<name>` first picks one of several), for responders only, under a time limit, and
 * answers with the first rows as a table (long values cut) or with Log Analytics' own error.
 */
export const kqlCommand: Command = {
  usage: 'kql <query>',
  gate: { access: 'responder', what: 'run queries' },
  maxLength: MAX_QUERY,
  description: 'Run a KQL query against the Sentinel workspace (responders only); `kql workspace=<name> <query>` picks one of several',
  async handle(args, caller, deps) {
    if (!deps.kql) return { text: 'Log Analytics is not configured (LOGS_ENDPOINT or an Azure credential), so I cannot run queries.' };
    const { workspace: named, query } = splitWorkspace(args.replace(/&nbsp;/g, ' ').trim());
    const target = named === undefined ? deps.kql.logs.forIncident() : deps.kql.logs.byLabel(named);
    if (!target) return { text: `I know no workspace "${untrusted(named ?? '', 40)}"; these are: ${deps.kql.logs.all.map((w) => workspaceLabel(w.workspace)).join(', ')}.` };
    if (query === '') return { text: 'Which query? For example `kql SigninLogs | take 5`.' };
    if (query.length > MAX_QUERY) return { text: `That query is longer than ${MAX_QUERY} characters.` };
    const control = controlCommandIn(query);
    if (control) {
      deps.logger.warn({ user: caller.aadObjectId, control: control.slice(0, 40) }, 'kql control command refused');
      return { text: `Refused: "${untrusted(control, 40)}" is a Kusto control command (it starts with a dot), which can change or delete data; \`kql\` runs read-only queries only.` };
    }
    const permission = await deps.responders.check(caller.aadObjectId);
    if (!permission.allowed) {
      deps.logger.warn({ user: caller.aadObjectId }, 'kql refused');
      return { text: `Only responders may run queries, and ${permission.reason}.` };
    }
    const several = deps.kql.logs.all.length > 1;
    deps.logger.info({ user: caller.aadObjectId, length: query.length, workspace: workspaceLabel(target.workspace) }, 'kql query');
    try {
      const t = await target.runner.run(query, { timespan: 'P1D', maxRows: deps.kql.maxRows, timeoutSeconds: deps.kql.timeoutSeconds });
      const columns = t.columns.slice(0, MAX_COLUMNS);
      const card = fitCard(KQL_DETAIL, (d) => {
        const rows = t.rows.slice(0, d.rows);
        return renderCard('kql-result', {
          heading: `KQL${several ? ` · ${untrusted(workspaceLabel(target.workspace), 32)}` : ''} · ${t.totalRows} row${t.totalRows === 1 ? '' : 's'} · ${t.columns.length} column${t.columns.length === 1 ? '' : 's'} · ${t.durationMs} ms`,
          query: untrusted(query, 500),
          warning: t.partial ? `Partial result: ${untrusted(t.partial, 200)}` : '',
          header: columns.map((c) => ({ text: untrusted(c, d.cell) })),
          rows: rows.map((r) => ({ cells: columns.map((_c, n) => ({ text: untrusted(cell(r[n]), d.cell) })) })),
          footer: [
            t.totalRows > rows.length ? `Showing the first ${rows.length} of ${t.totalRows} rows.` : '',
            t.columns.length > columns.length ? `Showing ${columns.length} of ${t.columns.length} columns.` : '',
            'Time range: last 24 hours unless the query says otherwise.',
          ]
            .filter((x) => x !== '')
            .join(' '),
        });
      });
      return { card };
    } catch (e) {
      if (e instanceof KqlError) return { text: `Log Analytics could not run that query: ${untrusted(e.message, 400)}` };
      throw e;
    }
  },
};
