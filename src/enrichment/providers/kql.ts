import fs from 'node:fs';
import path from 'node:path';
import { assetPath } from '../../package-root';
import { bindEntity } from '../kql-quote';
import { KqlError, type KqlRunner } from '../kql-runner';
import { createTtlCache } from '../ttl-cache';
import type { FactValue, Indicator, SourceResult } from '../types';
import type { EnrichmentProvider, LookupContext } from '../orchestrator';
import type { WorkspaceLogs } from '../../workspaces/workspace-logs';

export interface NamedQuery {
  name: string;
  /** `any` runs for every kind. */
  kind: Indicator['kind'] | 'any';
  text: string;
}

/** `queries/<kind>-<name>.kql`: the kind prefix says which entities a query is for. */
export function loadNamedQueries(dir = assetPath('queries')): NamedQuery[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.kql'))
    .sort()
    .map((f) => {
      const [kind = 'any', ...rest] = f.replace(/\.kql$/, '').split('-');
      return { name: rest.join('-'), kind: kind as NamedQuery['kind'], text: fs.readFileSync(path.join(dir, f), 'utf8') };
    });
}

const fact = (v: unknown): FactValue => {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.join(', ');
  if (Object.prototype.toString.call(v) === '[object Date]') return (v as Date).toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return v as FactValue;
};

/**
 * The workspace's view of an entity: each named query for its kind runs at once, the entity bound
 * only through `bindEntity` (a verbatim literal), and the first row's columns become the facts.
 * With `workspaces`, an incident's entity is looked up in the incident's own workspace (and
 * cached per workspace: the same address has other sign-ins in another tenant); `runner` serves
 * look-ups of no incident, or every look-up without `workspaces`.
 */
export function createKqlProvider(o: { runner: KqlRunner; workspaces?: WorkspaceLogs; queries: NamedQuery[]; timeoutSeconds: number; cacheTtlMs: number }): EnrichmentProvider {
  const cache = createTtlCache<SourceResult>(o.cacheTtlMs);
  const name = 'Log Analytics';
  const queriesFor = (i: Indicator) => o.queries.filter((q) => q.kind === 'any' || q.kind === i.kind);
  const workspaceOf = (context?: LookupContext) => {
    const w = o.workspaces?.forIncident(context?.incident);
    return w ? { id: w.workspace.workspaceId, runner: w.runner } : { id: '', runner: o.runner };
  };
  const lookup = async (i: Indicator, runner: KqlRunner): Promise<SourceResult> => {
    const at = new Date().toISOString();
    try {
      const tables = await Promise.all(queriesFor(i).map((q) => runner.run(bindEntity(q.text, i.value), { timespan: 'P7D', maxRows: 1, timeoutSeconds: o.timeoutSeconds })));
      const facts: Record<string, FactValue> = {};
      for (const t of tables) t.columns.forEach((c, n) => (facts[c] = fact(t.rows[0]?.[n])));
      return { status: 'ok', source: name, facts, at };
    } catch (e) {
      const reason =
        e instanceof KqlError ? `Log Analytics: ${e.message.slice(0, 150)}` : e instanceof Error && /control characters/.test(e.message) ? 'value cannot be queried safely' : 'unexpected error';
      return { status: 'unavailable', source: name, reason, at };
    }
  };
  return {
    name,
    supports: (i) => queriesFor(i).length > 0,
    lookup: (i, context) => {
      const w = workspaceOf(context);
      return cache.get(
        `${w.id}:${i.kind}:${i.value}`,
        () => lookup(i, w.runner),
        (r) => r.status === 'ok',
      );
    },
  };
}
