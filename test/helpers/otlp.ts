/**
 * A tiny OTLP/HTTP trace receiver on 127.0.0.1: it keeps the exact bytes each export
 * sent (for the marker scan) and decodes the JSON encoding into spans (what the broker's
 * exporter sends: @opentelemetry/exporter-trace-otlp-http).
 */
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: OtlpValue }[];
}
interface OtlpExport {
  resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

function valueOf(v: OtlpValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue ?? '';
}

export interface OtlpReceiver {
  /** Where the exporter sends: http://127.0.0.1:PORT/v1/traces */
  readonly url: string;
  /** Every request body, as sent (after content-encoding). */
  readonly bodies: Buffer[];
  spans(): ReceivedSpan[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const bodies: Buffer[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      bodies.push(req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw);
      const ok = req.url === '/v1/traces' && req.headers['content-type'] === 'application/json';
      res.writeHead(ok ? 200 : 415, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    bodies,
    spans: () =>
      bodies.flatMap((body) =>
        ((JSON.parse(body.toString()) as OtlpExport).resourceSpans ?? []).flatMap((r) =>
          (r.scopeSpans ?? []).flatMap((s) =>
            (s.spans ?? []).map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              attributes: Object.fromEntries(
                (span.attributes ?? []).map((a) => [a.key, valueOf(a.value)]),
              ),
            })),
          ),
        ),
      ),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
