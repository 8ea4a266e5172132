/**
 * `kind: spire`: SVIDs from a SPIRE agent over the SPIFFE Workload API — JWT-SVIDs as
 * bearer tokens (`oauth`), X.509-SVIDs for mutual TLS (`x509_svid`). Settings: the agent's
 * socket; the targets it issues for; the broker's SPIFFE ID, and others per principal; the
 * audience per target pattern; how mutual TLS verifies the target (`mtls`, not `x509`: a
 * key with a digit is never named in a configuration error); the timeout.
 */
import { z } from 'zod';
import { backendId, checked, duration, filePath, type ConfigContext } from '../../base/fields.js';
import { DID_KEY_PATTERN } from '../../governance/did-key.js';
import { urlPatternField } from '../../governance/target-field.js';
import { defineBackendPlugin } from '../plugin.js';
import { isAudience, isSpiffeId } from './spiffe-id.js';
import { MAX_SOCKET_PATH_BYTES, SpireBackend } from './spire-backend.js';

const spiffeId = checked((value) =>
  isSpiffeId(value)
    ? { ok: true, value }
    : { ok: false, why: 'must be a SPIFFE ID (spiffe://trust-domain/path)' },
);

const audience = checked((value) =>
  isAudience(value)
    ? { ok: true, value }
    : { ok: false, why: 'must be a SPIFFE ID or an http(s) URL' },
);

// The HTTP connector's targets: the credentials it issues are the HTTP connector's.
const targetPattern = urlPatternField;

const socket = (ctx: ConfigContext) =>
  filePath(ctx).refine((path) => Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES, {
    error: `must be a unix socket path of at most ${MAX_SOCKET_PATH_BYTES} bytes`,
  });

const settings = (ctx: ConfigContext) =>
  z.strictObject(
    {
      id: backendId.optional(),
      socket: socket(ctx),
      targets: z
        .array(targetPattern, { error: 'must be a list of target patterns' })
        .min(1, { error: 'must list at least one target' })
        .optional(),
      spiffe_id: spiffeId.optional(),
      identities: z
        .array(
          z.strictObject(
            {
              principals: z
                .array(
                  z
                    .string({ error: 'must be a did:key' })
                    .regex(DID_KEY_PATTERN, { error: 'must be a did:key' }),
                  { error: 'must be a list of did:key' },
                )
                .min(1, { error: 'must list at least one principal' }),
              spiffe_id: spiffeId,
            },
            { error: 'must be a mapping with principals and spiffe_id' },
          ),
          { error: 'must be a list of {principals, spiffe_id}' },
        )
        .optional(),
      audiences: z
        .array(
          z.strictObject(
            {
              targets: z
                .array(targetPattern, { error: 'must be a list of target patterns' })
                .min(1, { error: 'must list at least one target' }),
              audience,
            },
            { error: 'must be a mapping with targets and audience' },
          ),
          { error: 'must be a list of {targets, audience}' },
        )
        .optional(),
      mtls: z
        .strictObject(
          {
            verify_target: z.enum(['bundle', 'system'], { error: 'must be bundle or system' }),
          },
          { error: 'must be a mapping' },
        )
        .optional(),
      timeout: duration(120).optional(),
    },
    { error: 'must be a mapping' },
  );

export const spirePlugin = defineBackendPlugin({
  kind: 'spire',
  summary: 'SPIFFE SVIDs from a SPIRE agent: JWT-SVIDs (oauth) and X.509-SVIDs (x509_svid)',
  settings,
  create: (s: z.output<ReturnType<typeof settings>>, deps) =>
    new SpireBackend({
      ...(s.id !== undefined ? { id: s.id } : {}),
      socket: s.socket,
      ...(s.targets !== undefined ? { targets: s.targets } : {}),
      ...(s.spiffe_id !== undefined ? { spiffeId: s.spiffe_id } : {}),
      identities: (s.identities ?? []).map((r) => ({
        principals: r.principals,
        spiffeId: r.spiffe_id,
      })),
      audiences: s.audiences ?? [],
      ...(s.mtls !== undefined ? { x509VerifyTarget: s.mtls.verify_target } : {}),
      ...(s.timeout !== undefined ? { timeoutMs: s.timeout * 1000 } : {}),
      clock: deps.clock,
      logger: deps.logger,
    }),
});
