/**
 * Building blocks for configuration schemas (zod), shared by the configuration file's own
 * keys and by the section every backend and connector plugin owns. Every field carries its
 * own message, so no zod wording (which may change between versions) reaches an operator,
 * and no message ever repeats the value: a token pasted into the wrong key must not end up
 * in a log.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { tryParseDuration } from './duration.js';

/** What a plugin's section schema may need to know about the file it is read from. */
export interface ConfigContext {
  /** The directory of the configuration file: relative paths in it are relative to it. */
  readonly baseDir: string;
}

// eslint-disable-next-line no-control-regex
export const CONTROL = /[\u0000-\u001f\u007f]/;

export type Check<T> = { ok: true; value: T } | { ok: false; why: string };

/**
 * A field validated by plain code. A missing value is reported as required; wrap the result
 * in `.optional()` for an optional field (zod then skips it when absent).
 */
export function checked<T>(fn: (value: unknown) => Check<T>) {
  return z.unknown().transform((value, ctx): T => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is required' });
      return z.NEVER;
    }
    const result = fn(value);
    if (!result.ok) {
      ctx.addIssue({ code: 'custom', message: result.why });
      return z.NEVER;
    }
    return result.value;
  });
}

/** One line of text: 1–256 characters, no control characters. */
export const text = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(256, { error: 'must be at most 256 characters long' })
  .refine((value) => !CONTROL.test(value), { error: 'must not contain control characters' });

/** A file or directory path as written (not resolved). */
export const pathText = z
  .string({ error: 'must be a path' })
  .min(1, { error: 'must not be empty' })
  .max(4096, { error: 'must be at most 4096 characters long' })
  .refine((value) => !CONTROL.test(value), { error: 'must not contain control characters' });

/** A path, made absolute against the configuration file's directory. */
export const filePath = (ctx: ConfigContext) =>
  pathText.transform((value) => resolve(ctx.baseDir, value));

export const port = z
  .int({ error: 'must be a whole number' })
  .min(1, { error: 'must be at least 1' })
  .max(65535, { error: 'must be at most 65535' });

/** A duration (`90s`, `15m`, …) in seconds, at most `max` seconds when given. */
export const duration = (max?: number) =>
  checked((value) => {
    const result = tryParseDuration(value);
    if (!result.ok) return { ok: false, why: result.reason };
    if (max !== undefined && result.seconds > max) {
      return { ok: false, why: `must be at most ${max} seconds` };
    }
    return { ok: true, value: result.seconds };
  });

/** The name of an environment variable holding a secret: the secret never sits in the file. */
export const envName = z
  .string({ error: 'must be an environment variable name' })
  .regex(/^[A-Z_][A-Z0-9_]{0,63}$/, { error: 'must be an environment variable name' });

/** A backend's id: what audit entries and errors name it by. */
export const backendId = z
  .string({ error: 'must be a backend id' })
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, { error: 'must be a backend id ([a-z0-9._-])' });

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** An issuer's endpoint: https, or plain http to a loopback address; no credentials in it. */
export const endpointUrl = checked((value) => {
  const why = 'must be an https URL (http only to a loopback address)';
  if (typeof value !== 'string' || CONTROL.test(value)) return { ok: false, why };
  try {
    const u = new URL(value);
    const loopback = LOOPBACK_HOSTS.has(u.hostname);
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) return { ok: false, why };
    if (u.username !== '' || u.password !== '' || u.hash !== '') return { ok: false, why };
    return { ok: true, value: u.toString().replace(/\/$/, '') };
  } catch {
    return { ok: false, why };
  }
});

/** An AWS region name, e.g. `eu-west-1`, `us-gov-west-1`. */
export const awsRegion = z
  .string({ error: 'must be an AWS region such as eu-west-1' })
  .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, { error: 'must be an AWS region such as eu-west-1' });
