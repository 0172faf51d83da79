/** What the enrichment providers look up. */
export type IndicatorKind = 'ip' | 'domain' | 'url' | 'hash' | 'account' | 'host';

export interface Indicator {
  kind: IndicatorKind;
  value: string;
}

export type FactValue = string | number | boolean | null;

/** One source's answer about one indicator. Providers never throw: a failure is `unavailable`. */
export type SourceResult =
  | {
      status: 'ok';
      source: string;
      /** 0–100, for threat-intelligence sources: how bad the indicator looks. */
      score?: number;
      /** What the card shows, e.g. country, asn, malicious, displayName, privileged. */
      facts: Record<string, FactValue>;
      at: string;
    }
  | {
      status: 'unavailable';
      source: string;
      /** Short and human ("timed out after 5000 ms", "HTTP 429 from VirusTotal"); never a secret. */
      reason: string;
      at: string;
    };
