/** Every failure we know how to explain has a code; anything else is wrapped once, at the sink. */
export type ErrorCode = 'CONFIG_INVALID' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'PAYLOAD_TOO_LARGE' | 'BAD_REQUEST' | 'NOT_FOUND' | 'UPSTREAM_FAILED' | 'UPSTREAM_TIMEOUT' | 'INTERNAL';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** Wraps an unknown throwable exactly once, keeping a known AppError as it is. */
export const toAppError = (e: unknown): AppError => (isAppError(e) ? e : new AppError('INTERNAL', e instanceof Error ? e.message : String(e)));
