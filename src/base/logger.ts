/**
 * Structured logging. Bastion code logs metadata objects plus a fixed message; the pino
 * redact list is a second line of defence for field names that could carry secrets.
 */
import { pino } from 'pino';

/** The subset of pino's interface Bastion uses, so tests can pass a capturing logger. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const REDACT_PATHS = [
  'authorization',
  'token',
  'accessToken',
  'privateKey',
  'ticket',
  'password',
  'secret',
  '*.authorization',
  '*.token',
  '*.accessToken',
  '*.privateKey',
  '*.ticket',
  '*.password',
  '*.secret',
  'req.headers.authorization',
  'req.headers.dpop',
];

export interface LoggerOptions {
  level?: string;
  /** Where JSON lines go; stderr by default so stdout stays free for command output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env['BASTION_LOG_LEVEL'] ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { svc: 'bastion' },
    },
    options.destination ?? pino.destination(2),
  );
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
