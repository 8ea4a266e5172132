/**
 * `notifications:`: where the broker tells approvers of a request awaiting them (a webhook
 * taking Slack-compatible JSON). Its own file so the schema, defaults and the normalised
 * shape of the section sit together.
 */
import { z } from 'zod';
import { CONTROL, checked, duration } from '../base/fields.js';

/** The longest a notification may take before it is abandoned. */
const MAX_TIMEOUT_SECONDS = 60;
const DEFAULT_TIMEOUT_SECONDS = 5;

export interface NotificationsConfig {
  /** http(s); may hold a token in its path (Slack's do): it is never logged. */
  readonly webhook_url: string;
  /** The requester's justification goes in the message only when this is true. */
  readonly include_justification: boolean;
  readonly timeout_seconds: number;
}

const webhookUrl = checked((value) => {
  const why = 'must be an http or https URL without credentials or fragment';
  if (typeof value !== 'string' || CONTROL.test(value)) return { ok: false, why };
  try {
    const u = new URL(value);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return { ok: false, why };
    if (u.username !== '' || u.password !== '' || u.hash !== '') return { ok: false, why };
    return { ok: true, value: u.toString() };
  } catch {
    return { ok: false, why };
  }
});

export const notificationsSchema = z
  .strictObject(
    {
      webhook_url: webhookUrl,
      include_justification: z.boolean({ error: 'must be true or false' }).optional(),
      timeout: duration(MAX_TIMEOUT_SECONDS).optional(),
    },
    { error: 'must be a mapping' },
  )
  .transform((raw): NotificationsConfig => ({
    webhook_url: raw.webhook_url,
    include_justification: raw.include_justification ?? false,
    timeout_seconds: raw.timeout ?? DEFAULT_TIMEOUT_SECONDS,
  }));
