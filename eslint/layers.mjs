/**
 * Bastion's layers, and the ESLint rule that keeps them. A folder of src/ may import its
 * own files and folders of lower layers only; two folders of one layer do not import each
 * other. Hand-written (no plugin) because it needs nothing but path arithmetic on the
 * relative imports this codebase uses, and so that a new folder must be placed here before
 * it can be imported at all.
 */
import { dirname, relative, resolve, sep } from 'node:path';

/** Lowest first. src/index.ts (the package's entry) sits above all of them. */
export const LAYERS = [
  ['base'], // errors and their catalog, clock, logger, config fields, audit records, signer
  ['ssh', 'edge'], // OpenSSH wire format; the HTTP error edge
  ['credentials'], // Secret, credential types, the backend contract, the resolver
  ['kerberos'], // in-process Kerberos: AES enctypes, keytabs, DER messages (keys in Secrets)
  ['store'], // the Store interface and its SQLite implementation
  ['audit'], // the hash-chained audit log and its verifier
  ['governance'], // ACs, accords, DPoP, authentication, policies, the governance service
  ['backends', 'transports'], // secrets backends (plugins); SSH and HTTP transports
  ['connectors'], // the session lifecycle and the connectors (plugins)
  ['config', 'bascule', 'client'], // the configuration file; the Bascule runtime; the client
  ['server', 'mcp'], // the HTTP API; the MCP bridge
  ['doctor'], // `bastion doctor`'s checks: configuration, peers, files, audit, store
  ['cli'], // the `bastion` command
];

const layerOf = new Map(LAYERS.flatMap((folders, level) => folders.map((f) => [f, level])));

/** The folder of src/ a file is in; `(root)` for src/index.ts; undefined outside src/. */
export function folderOf(srcDir, file) {
  const rel = relative(srcDir, file);
  if (rel.startsWith('..') || rel === '') return undefined;
  const parts = rel.split(sep);
  return parts.length === 1 ? '(root)' : parts[0];
}

/** Why `from` may not import `to`, or undefined when it may. */
export function layerProblem(from, to) {
  if (from === to || from === '(root)') return undefined;
  if (to === '(root)') return `src/${from} must not import the package entry (src/index.ts)`;
  const a = layerOf.get(from);
  const b = layerOf.get(to);
  if (a === undefined) return `src/${from} is in no layer: place it in eslint/layers.mjs`;
  if (b === undefined) return `src/${to} is in no layer: place it in eslint/layers.mjs`;
  if (b < a) return undefined;
  return b === a
    ? `src/${from} and src/${to} are one layer: neither imports the other`
    : `src/${from} must not import src/${to}, a higher layer (see eslint/layers.mjs)`;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports between the folders of src/ follow the layers' },
    schema: [{ type: 'object', properties: { srcDir: { type: 'string' } } }],
  },
  create(context) {
    const srcDir = resolve(context.options[0]?.srcDir ?? resolve(context.cwd, 'src'));
    const file = context.filename;
    const from = folderOf(srcDir, file);
    if (from === undefined) return {};
    const check = (source) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string') return;
      if (!source.value.startsWith('.')) return;
      const to = folderOf(srcDir, resolve(dirname(file), source.value));
      if (to === undefined) return;
      const problem = layerProblem(from, to);
      if (problem !== undefined) context.report({ node: source, message: problem });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};

export const layersPlugin = { rules: { layers: rule } };
