import { fitCard } from '../../cards/budget';
import { renderCard } from '../../cards/render-card';
import { untrusted } from '../../cards/markdown';
import { parseIndicator } from '../../enrichment/parse-indicator';
import { assessSeverity, recommend, riskScore } from '../../enrichment/scoring';
import type { Indicator } from '../../enrichment/types';
import { entityLabel, entityText, sourceLine, verdictOf } from '../../incidents/render-incident-card';
import type { Command } from '../command';

const entityKindOf: Record<Indicator['kind'], 'ip' | 'domain' | 'url' | 'filehash' | 'account' | 'host'> = {
  ip: 'ip',
  domain: 'domain',
  url: 'url',
  hash: 'filehash',
  account: 'account',
  host: 'host',
};

/** Every source that knows the indicator's kind, asked at once; the card shows each answer. */
export const enrichCommand: Command = {
  usage: 'enrich <ip | domain | url | hash | upn>',
  gate: { access: 'staff', what: 'enrich indicators' },
  description: 'Threat intelligence and context for one indicator',
  async handle(args, _caller, deps) {
    const indicator = parseIndicator(args);
    if (!indicator) return { text: 'Enrich what? Give one IP address, domain, URL, file hash (MD5, SHA-1, SHA-256) or user principal name, for example `enrich 203.0.113.7`.' };
    const providers = deps.providers.filter((p) => p.supports(indicator));
    if (providers.length === 0) return { text: `No enrichment source is configured for ${indicator.kind === 'account' ? 'accounts' : `${indicator.kind}s`}.` };
    const results = await Promise.all(providers.map((p) => p.lookup(indicator)));
    const score = riskScore(results);
    const privileged = results.some((r) => r.status === 'ok' && r.facts.privileged === true);
    const kind = entityKindOf[indicator.kind];
    const label = `${entityLabel[kind]} ${entityText({ kind, value: indicator.value })}`;
    const verdict = verdictOf(score === undefined ? undefined : { score, recommendation: recommend(score), assessedSeverity: assessSeverity(score, privileged), privileged });
    const card = fitCard([300, 150, 60], (max) =>
      renderCard('enrichment', {
        heading: `Enrichment · ${label}`,
        ...verdict,
        lines: results.map((r) => ({ source: untrusted(r.source, 40), text: sourceLine(r, max) })),
        note: results.some((r) => r.status !== 'ok') ? 'A source that is unavailable is not counted in the risk score.' : '',
      }),
    );
    return { card };
  },
};
