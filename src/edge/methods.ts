/**
 * Which methods a server's routes take, path by path: what the edge needs to answer a
 * request no route takes with 405 and an `Allow` header instead of a 404 — and to do so
 * before Fastify parses a body (a body parser is not for methods we never serve).
 *
 * Route patterns are read the way the servers here write them: literal segments, `:param`
 * segments and a final `*`; a trailing slash is insignificant (both servers set
 * `ignoreTrailingSlash`). Any other pattern syntax stops the server at start, so that the
 * table can never silently disagree with the router.
 */

/** What the edge answers a request that matched no route. */
export type Unrouted =
  { readonly status: 404 } | { readonly status: 405; readonly allow: readonly string[] };

interface Shape {
  /** A literal segment, or null for a `:param` segment. */
  readonly segments: readonly (string | null)[];
  /** Ends with `*`: any further segments. */
  readonly rest: boolean;
  readonly methods: Set<string>;
}

const PARAM = /^:[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL = /^[A-Za-z0-9\-._~!$&'()+,;=@]*$/;

function segmentsOf(path: string): string[] {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed === '' ? [] : trimmed.slice(1).split('/');
}

function shapeOf(url: string): Omit<Shape, 'methods'> {
  if (!url.startsWith('/')) throw new TypeError(`route ${url}: the edge cannot read its pattern`);
  const parts = segmentsOf(url);
  const rest = parts[parts.length - 1] === '*';
  const fixed = rest ? parts.slice(0, -1) : parts;
  const segments = fixed.map((part) => {
    if (PARAM.test(part)) return null;
    if (LITERAL.test(part) && part !== '') return part;
    throw new TypeError(`route ${url}: the edge cannot read its pattern`);
  });
  return { segments, rest };
}

function matches(shape: Shape, segments: readonly string[]): boolean {
  const n = shape.segments.length;
  if (shape.rest ? segments.length < n : segments.length !== n) return false;
  return shape.segments.every((literal, i) =>
    literal === null ? (segments[i] ?? '') !== '' : literal === segments[i],
  );
}

export class MethodTable {
  readonly #shapes = new Map<string, Shape>();
  readonly #methods = new Set<string>();

  /** Records a route; throws TypeError for a pattern the table cannot read. */
  add(method: string | readonly string[], url: string): void {
    const shape = shapeOf(url);
    const key = JSON.stringify(shape);
    const entry = this.#shapes.get(key) ?? { ...shape, methods: new Set<string>() };
    this.#shapes.set(key, entry);
    for (const m of typeof method === 'string' ? [method] : method) {
      // Fastify answers HEAD wherever it answers GET (exposeHeadRoutes).
      for (const served of m === 'GET' ? ['GET', 'HEAD'] : [m]) {
        entry.methods.add(served);
        this.#methods.add(served);
      }
    }
  }

  /**
   * A path some route serves under other methods: 405 with those methods. A method no
   * route takes anywhere: 405 with every method the server takes. Otherwise 404.
   */
  unrouted(method: string, rawUrl: string): Unrouted {
    const allow = new Set<string>();
    const segments = decodedSegments(rawUrl);
    if (segments !== undefined) {
      for (const shape of this.#shapes.values()) {
        if (matches(shape, segments)) for (const m of shape.methods) allow.add(m);
      }
    }
    if (allow.size > 0) return { status: 405, allow: [...allow].sort() };
    if (!this.#methods.has(method)) return { status: 405, allow: [...this.#methods].sort() };
    return { status: 404 };
  }
}

/** The path's segments, percent-decoded as the router reads them; undefined if it cannot. */
function decodedSegments(rawUrl: string): string[] | undefined {
  const path = rawUrl.split('?')[0] ?? '';
  if (!path.startsWith('/')) return undefined;
  try {
    return segmentsOf(path).map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}
