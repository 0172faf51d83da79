import { writeBackOf, type Incident } from '../incidents/incident';
import { CLOSE_CHOICES } from '../sentinel/incident-writer';
import type { GraphIncidentChange } from './graph-security-client';

type Classification = NonNullable<GraphIncidentChange['classification']>;

export interface GraphCloseChoice {
  classification: Classification;
  determination: string;
  label: string;
}

const choice = (classification: Classification, determination: string, label: string): GraphCloseChoice => ({ classification, determination, label });

/**
 * How a Defender incident is closed: each classification with the determinations Microsoft lists
 * for it, keyed `classification/determination`. Sentinel's choices (old cards, `close <n> tp` in
 * chat) map to the nearest: their reasons have no Defender determination, so `other`.
 */
export const GRAPH_CLOSE_CHOICES: Record<string, GraphCloseChoice> = {
  'truePositive/multiStagedAttack': choice('truePositive', 'multiStagedAttack', 'true positive (multistage attack)'),
  'truePositive/maliciousUserActivity': choice('truePositive', 'maliciousUserActivity', 'true positive (malicious user activity)'),
  'truePositive/compromisedAccount': choice('truePositive', 'compromisedAccount', 'true positive (compromised account)'),
  'truePositive/malware': choice('truePositive', 'malware', 'true positive (malware)'),
  'truePositive/phishing': choice('truePositive', 'phishing', 'true positive (phishing)'),
  'truePositive/unwantedSoftware': choice('truePositive', 'unwantedSoftware', 'true positive (unwanted software)'),
  'truePositive/other': choice('truePositive', 'other', 'true positive'),
  'informationalExpectedActivity/securityTesting': choice('informationalExpectedActivity', 'securityTesting', 'informational, expected activity (security test)'),
  'informationalExpectedActivity/lineOfBusinessApplication': choice('informationalExpectedActivity', 'lineOfBusinessApplication', 'informational, expected activity (line-of-business application)'),
  'informationalExpectedActivity/confirmedActivity': choice('informationalExpectedActivity', 'confirmedActivity', 'informational, expected activity (confirmed activity)'),
  'informationalExpectedActivity/other': choice('informationalExpectedActivity', 'other', 'informational, expected activity'),
  'falsePositive/notMalicious': choice('falsePositive', 'notMalicious', 'false positive (not malicious)'),
  'falsePositive/notEnoughDataToValidate': choice('falsePositive', 'notEnoughDataToValidate', 'false positive (not enough data to validate)'),
  'falsePositive/other': choice('falsePositive', 'other', 'false positive'),
  'TruePositive/SuspiciousActivity': choice('truePositive', 'other', 'true positive'),
  'BenignPositive/SuspiciousButExpected': choice('informationalExpectedActivity', 'other', 'informational, expected activity'),
  'FalsePositive/IncorrectAlertLogic': choice('falsePositive', 'other', 'false positive (incorrect alert logic)'),
  'FalsePositive/InaccurateData': choice('falsePositive', 'other', 'false positive (inaccurate data)'),
  Undetermined: choice('unknown', 'unknown', 'undetermined'),
};

/** What the close form offers for a Defender incident (Sentinel's keys stay accepted, not offered). */
export const GRAPH_CLOSE_OFFERED = Object.keys(GRAPH_CLOSE_CHOICES).filter((k) => !Object.hasOwn(CLOSE_CHOICES, k) || k === 'Undetermined');

/** The close choices an incident takes: Defender's for Graph's incidents, Sentinel's for the rest. */
export const closeChoicesFor = (i: Incident): Record<string, { label: string }> => (writeBackOf(i) === 'graph' ? GRAPH_CLOSE_CHOICES : CLOSE_CHOICES);
