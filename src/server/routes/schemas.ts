/** JSON schemas shared by the routes (and so by /openapi.json). */
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

export const errorSchemas = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
  413: errorSchema,
  415: errorSchema,
  429: errorSchema,
  502: errorSchema,
  503: errorSchema,
} as const;

export const dpopHeader = {
  type: 'object',
  properties: {
    dpop: { type: 'string', description: 'DPoP proof (RFC 9449) signed by the caller did:key' },
  },
} as const;
