/**
 * HTTP path policy (`paths: {allow, deny}` in an accord), beside the command policy in
 * accords.ts: which method and path an AC of the `http` connector may reach.
 *
 * - a pattern is matched against `METHOD /path`, the method in capitals and the path
 *   relative to the target's base path, in canonical form (percent-escapes in upper case,
 *   unreserved characters decoded), without the query; a pattern that starts with `/`
 *   is matched against the path alone, for any method. `GET /status*`, `* /admin*`,
 *   `/health` are all valid patterns;
 * - deny wins, and is matched generously: ignoring case; against the path and the path
 *   with its ASCII percent-escapes decoded (`/api%2Fadmin` is `/api/admin` to some
 *   servers), each with and without a trailing `/`; and a trailing `*` or `/*` also
 *   matches nothing, so `* /admin*` and `* /admin/*` deny `/admin` itself although `*`
 *   is one or more characters; a `GET` deny pattern also denies `HEAD`;
 * - allow is matched exactly: `GET /status*` does not allow `GET /status` nor `HEAD
 *   /status*` (list them); an empty allow list allows nothing; no `paths` allows any path.
 * Redirects are held to the same policy.
 */
import { globMatches } from './patterns.js';

/** An accord's `paths`: glob patterns matched as described above. */
export interface PathPolicy {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const ASCII_ESCAPE = /%([2-7][0-9A-Fa-f])/g;

function matchesAny(patterns: readonly string[], subjects: readonly string[]): boolean {
  return patterns.some((pattern) => subjects.some((subject) => globMatches(pattern, subject)));
}

/** A deny pattern and, when it ends in `*` or `/*`, the prefix it would also mean to cover. */
function denyVariants(pattern: string): string[] {
  const variants = [pattern];
  if (pattern.endsWith('*')) {
    const bare = pattern.replace(/\*+$/, '');
    if (bare !== '' && !bare.endsWith(' ')) variants.push(bare);
    if (bare.endsWith('/') && bare.length > 1) variants.push(bare.slice(0, -1));
  }
  return variants.filter((v) => v !== '' && !v.endsWith(' '));
}

/**
 * Whether the accord's path policy lets `method` reach `path` (canonical, relative to the
 * base). See the header comment for the rule. An unreadable pattern fails closed: it
 * denies as a deny pattern and allows nothing as an allow pattern.
 */
export function pathAllowed(paths: PathPolicy | undefined, method: string, path: string): boolean {
  if (paths === undefined) return true;
  if (CONTROL.test(method) || CONTROL.test(path)) return false;
  const subjectsFor = (
    pattern: string,
    candidates: readonly string[],
    methods: readonly string[] = [method],
  ): string[] =>
    pattern.startsWith('/')
      ? [...candidates]
      : methods.flatMap((m) => candidates.map((p) => `${m} ${p}`));
  // HEAD is GET without the body: what GET may not see, HEAD may not probe.
  const denyMethods = method.toUpperCase() === 'HEAD' ? [method, 'GET'] : [method];

  const decoded = path.replace(ASCII_ESCAPE, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
  const denyPaths = [
    ...new Set(
      [path, decoded].flatMap((p) => (p.endsWith('/') && p.length > 1 ? [p, p.slice(0, -1)] : [p])),
    ),
  ];
  for (const pattern of paths.deny) {
    try {
      const variants = denyVariants(pattern.toLowerCase());
      const subjects = subjectsFor(pattern, denyPaths, denyMethods).map((s) => s.toLowerCase());
      if (matchesAny(variants, subjects)) return false;
    } catch {
      return false;
    }
  }
  return paths.allow.some((pattern) => {
    try {
      return matchesAny([pattern], subjectsFor(pattern, [path]));
    } catch {
      return false;
    }
  });
}
