/**
 * `POST /connectors/{connector}/invoke`, one route per connector, each with the body and
 * reply schemas derived from that connector's operation (so /openapi.json documents every
 * operation exactly as the connector reads it). The AC comes in `Authorization: DPoP <AC>`,
 * the proof in `DPoP` (with `ath`); the authentication edge checks both before the handler
 * hands the invocation to SessionConnector.
 */
import type { FastifyInstance } from 'fastify';
import type { Connector } from '../../connectors/connector.js';
import { UnknownConnectorError } from '../../connectors/errors.js';
import { jsonSchemaOf } from '../../connectors/operation.js';
import type { SessionConnector } from '../../connectors/session.js';
import { acHolderOf } from '../authenticate.js';
import { errorSchemas } from './schemas.js';

const credentialView = {
  type: 'object',
  description: 'What was used, by fingerprint; never the credential',
  properties: {
    type: { type: 'string' },
    issued_by: { type: 'string' },
    id: { type: 'string' },
    fingerprint: { type: 'string' },
    expires_at: { type: 'string', format: 'date-time' },
    must_revoke: { type: 'boolean' },
  },
} as const;

function invokeRoute(app: FastifyInstance, connector: Connector, session: SessionConnector): void {
  app.post<{ Body: { target: string; operation: unknown } }>(
    `/connectors/${connector.name}/invoke`,
    {
      config: { auth: 'ac' },
      schema: {
        summary: `Run one ${connector.name} operation on the target under an AC`,
        description: `Authorization: DPoP <AC>, and a DPoP proof whose ath is the hash of the AC. The operation: ${connector.operation.summary}. The broker resolves a short-lived ${connector.credentialType} credential for the target, runs the operation, then revokes and zeroizes the credential.`,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['target', 'operation'],
          properties: {
            target: { type: 'string', minLength: 1, maxLength: 2048 },
            operation: jsonSchemaOf(connector.operation.schema, 'input'),
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              invocation_id: { type: 'string' },
              ac_id: { type: 'string' },
              connector: { type: 'string' },
              target: { type: 'string' },
              result: jsonSchemaOf(connector.operation.result, 'output'),
              credential: credentialView,
            },
          },
          ...errorSchemas,
        },
      },
    },
    async (request) => {
      const closed = new AbortController();
      request.raw.once('close', () => {
        if (!request.raw.complete) closed.abort();
      });
      const { caller, ac } = acHolderOf(request);
      return session.invoke({
        caller,
        ac,
        connector,
        target: request.body.target,
        operation: request.body.operation,
        signal: closed.signal,
      });
    },
  );
}

export function connectorRoutes(
  app: FastifyInstance,
  deps: { session: SessionConnector; connectors: readonly Connector[] },
): void {
  for (const connector of deps.connectors) invokeRoute(app, connector, deps.session);
  // Any other name: no such connector, before anything else is looked at.
  app.post(
    '/connectors/:connector/invoke',
    {
      config: { auth: 'none' },
      schema: {
        hide: true,
        params: {
          type: 'object',
          properties: { connector: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' } },
          required: ['connector'],
        },
      },
    },
    () => {
      throw new UnknownConnectorError();
    },
  );
}
