import type { SourceResult } from './types';

export type Recommendation = 'BLOCK_IMMEDIATELY' | 'INVESTIGATE' | 'MONITOR';

/** Mean of the scores the sources gave; undefined when none gave one. */
export function riskScore(results: SourceResult[]): number | undefined {
  const scores = results.flatMap((r) => (r.status === 'ok' && r.score !== undefined ? [r.score] : []));
  return scores.length === 0 ? undefined : scores.reduce((a, b) => a + b, 0) / scores.length;
}

export function recommend(score: number): Recommendation {
  if (score > 80) return 'BLOCK_IMMEDIATELY';
  if (score > 50) return 'INVESTIGATE';
  return 'MONITOR';
}

/** Critical when the score is above 80 and the account is privileged, High above 50; else keep Sentinel's. */
export function assessSeverity(score: number, privileged: boolean): 'Critical' | 'High' | undefined {
  if (score > 80 && privileged) return 'Critical';
  if (score > 50) return 'High';
  return undefined;
}
