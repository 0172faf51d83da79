import pino from 'pino';

/** Paths that may carry secrets anywhere we log; pino replaces them before anything is written. */
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'webhookSecret',
  '*.webhookSecret',
  'appPassword',
  '*.appPassword',
  'clientSecret',
  '*.clientSecret',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
];

export type Logger = pino.Logger;

export const createLogger = (level: string, destination?: pino.DestinationStream): Logger =>
  pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { app: 'vigil' } }, destination);
