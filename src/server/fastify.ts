/**
 * The broker's Fastify instance: strict JSON parsing, a body-size limit, redacted
 * structured logs on stderr, the shared error edge, and the OpenAPI document built from
 * the routes' schemas.
 */
import swagger from '@fastify/swagger';
import { documentRoute } from './openapi.js';
import type { FastifyInstance } from 'fastify';
import { REDACT_PATHS } from '../base/logger.js';
import type { BastionConfig } from '../config/config.js';
import { createEdgeFastify } from '../edge/errors.js';

export async function createFastify(
  config: BastionConfig,
  options: {
    logDestination?: NodeJS.WritableStream | false | undefined;
    /** HTTPS: the PEM chain and key, which the server copies into its TLS context. */
    https?: { cert: Buffer; key: Buffer } | undefined;
  },
): Promise<FastifyInstance> {
  const app = createEdgeFastify({
    challenge: 'DPoP algs="EdDSA"',
    // stderr, so that stdout stays free for command output.
    logger:
      options.logDestination === false
        ? false
        : {
            level: config.log_level ?? process.env['BASTION_LOG_LEVEL'] ?? 'info',
            redact: { paths: REDACT_PATHS, censor: '[redacted]' },
            stream: options.logDestination ?? process.stderr,
          },
    bodyLimit: config.limits.body_bytes,
    https: options.https,
  });
  await app.register(swagger, {
    transform: documentRoute,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Bastion',
        version: '0.1.0',
        description:
          'Zero-credential-storage access broker: authorization contexts and governed invocations.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      // Where clients reach the broker: its public URL (the one DPoP proofs name), else
      // the address it listens on.
      servers: [{ url: config.public_url ?? `http://${config.listen.host}:${config.listen.port}` }],
      components: {
        securitySchemes: {
          dpop: {
            type: 'apiKey',
            in: 'header',
            name: 'DPoP',
            description:
              'A DPoP proof (RFC 9449) for this method and URL, signed by the caller did:key (Ed25519, EdDSA); a fresh jti each time, iat within the clock skew. With an AC, it must be made with the key the AC is bound to (cnf.jkt) and carry ath, the hash of the AC.',
          },
          ac: {
            type: 'http',
            scheme: 'DPoP',
            description: 'The authorization context (AC), a JWT: Authorization: DPoP <AC>.',
          },
        },
      },
    },
  });
  return app;
}

/**
 * The API document (the probes are in routes/probes.ts). `publicUrl`: where clients reach
 * the broker (the URL DPoP proofs name: the configured public_url, else the listening
 * address, known once listening).
 */
export function metaRoutes(app: FastifyInstance, publicUrl: () => string): void {
  app.get('/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, () => ({
    ...app.swagger(),
    servers: [{ url: publicUrl() }],
  }));
}
