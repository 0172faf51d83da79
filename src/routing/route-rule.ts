import { writeBackOf, workspaceOfIncidentId, type Incident, type Severity } from '../incidents/incident';

/** Sentinel's scale with Vigil's own Critical on top (enrichment's assessment reaches it). */
export const ROUTE_SEVERITIES = ['Informational', 'Low', 'Medium', 'High', 'Critical'] as const;
export type RouteSeverity = (typeof ROUTE_SEVERITIES)[number];

export const SEVERITY_KEYS = ['severity', 'sentinel-severity'] as const;
export const PATTERN_KEYS = ['workspace', 'provider', 'product', 'rule', 'title', 'tag'] as const;
export type SeverityKey = (typeof SEVERITY_KEYS)[number];
export type PatternKey = (typeof PATTERN_KEYS)[number];

export const ORDER_OPERATORS = ['>=', '<=', '>', '<'] as const;
export type OrderOperator = (typeof ORDER_OPERATORS)[number];
export type SetOperator = '=' | '!=';

/**
 * One condition of a rule. A severity is compared on the scale; anything else is a list of
 * case-insensitive patterns (`*` any run of characters, `?` one), any of which may match.
 */
export type Condition =
  { key: SeverityKey; op: OrderOperator; values: [RouteSeverity] } | { key: SeverityKey; op: SetOperator; values: RouteSeverity[] } | { key: PatternKey; op: SetOperator; values: string[] };

/** Every condition must hold; a rule without any (`all`) takes every incident. */
export interface RouteRule {
  conditions: Condition[];
}

/** What a rule can look at, gathered once per incident. */
export interface RoutingFacts {
  /** Vigil's assessment where enrichment made one, Sentinel's severity otherwise. */
  severity: RouteSeverity;
  sentinelSeverity: Severity;
  /** The names the incident's workspace goes by (its display name, its Log Analytics name). */
  workspaces: string[];
  /** `sentinel` or `defender`: where the incident comes from and is written back. */
  providers: string[];
  products: string[];
  /** Analytic rules, by ARM id and by the rule's own id (the id's last segment). */
  rules: string[];
  title: string;
  tags: string[];
}

const rank = (s: RouteSeverity) => ROUTE_SEVERITIES.indexOf(s);

const asRouteSeverity = (s: string | undefined): RouteSeverity | undefined => ROUTE_SEVERITIES.find((x) => x.toLowerCase() === s?.toLowerCase());

/** The facts of `incident` with `assessedSeverity` (stored by enrichment) when there is one. */
export function routingFactsOf(incident: Incident, assessedSeverity?: string | null): RoutingFacts {
  const arm = workspaceOfIncidentId(incident.id);
  return {
    severity: asRouteSeverity(assessedSeverity ?? undefined) ?? incident.severity,
    sentinelSeverity: incident.severity,
    workspaces: [...(incident.workspace ? [incident.workspace] : []), ...(arm ? [arm.workspaceName] : [])],
    providers: [writeBackOf(incident) === 'graph' ? 'defender' : 'sentinel'],
    products: incident.products,
    rules: incident.ruleIds.flatMap((id) => [id, id.split('/').at(-1)!]),
    title: incident.title,
    tags: incident.labels,
  };
}

/**
 * Whether `text` matches the wildcard `pattern`, ignoring case. Linear backtracking over the last
 * star only, so a pattern typed in chat cannot make matching slow.
 */
export function matchesPattern(pattern: string, text: string): boolean {
  const p = [...pattern.toLowerCase()];
  const t = [...text.toLowerCase()];
  let pi = 0;
  let ti = 0;
  let star = -1;
  let resume = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      resume = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++resume;
    } else return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

const PATTERN_FACT: Record<PatternKey, (f: RoutingFacts) => string[]> = {
  workspace: (f) => f.workspaces,
  provider: (f) => f.providers,
  product: (f) => f.products,
  rule: (f) => f.rules,
  title: (f) => [f.title],
  tag: (f) => f.tags,
};

function holds(c: Condition, f: RoutingFacts): boolean {
  if (c.key === 'severity' || c.key === 'sentinel-severity') {
    const have = rank(c.key === 'severity' ? f.severity : f.sentinelSeverity);
    const want = c.values.map(rank);
    switch (c.op) {
      case '>=':
        return have >= want[0]!;
      case '<=':
        return have <= want[0]!;
      case '>':
        return have > want[0]!;
      case '<':
        return have < want[0]!;
      case '=':
        return want.includes(have);
      case '!=':
        return !want.includes(have);
    }
  }
  const facts = PATTERN_FACT[c.key](f);
  const any = c.values.some((pattern) => facts.some((fact) => matchesPattern(pattern, fact)));
  return c.op === '=' ? any : !any;
}

export const ruleMatches = (rule: RouteRule, facts: RoutingFacts): boolean => rule.conditions.every((c) => holds(c, facts));
