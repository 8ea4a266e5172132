/**
 * Reading the configuration text as YAML: one document, YAML 1.2 core schema, unique keys,
 * no merge keys, a bounded number of aliases. YAML's own messages quote the offending
 * source line, so only a problem's code and position are reported, in our words.
 */
import { LineCounter, parseDocument, visit } from 'yaml';
import { ConfigError } from '../base/errors.js';

/** A configuration file is a page of policy, not a data set. */
export const MAX_CONFIG_BYTES = 1_048_576;
/** Enough for sharing a list by anchor, far too few for an alias bomb. */
const MAX_ALIAS_COUNT = 16;

const YAML_REASONS: Record<string, string> = {
  DUPLICATE_KEY: 'repeats a key already set in the same mapping',
  MULTIPLE_DOCS: 'starts a second YAML document; the file must hold exactly one',
  NON_STRING_KEY: 'uses a non-scalar mapping key',
  TAG_RESOLVE_FAILED: 'uses a YAML tag this loader does not know',
  BAD_INDENT: 'is not valid YAML (bad indentation)',
  TAB_AS_INDENT: 'is not valid YAML (a tab used as indentation)',
  MISSING_CHAR: 'is not valid YAML (a closing quote or bracket is missing)',
  BAD_ALIAS: 'is not valid YAML (an alias to an unknown anchor)',
};

/** The document as plain data. Throws ConfigError naming a line and column. */
export function readYaml(text: string, fileName: string): unknown {
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) {
    throw new ConfigError(fileName, `is larger than ${MAX_CONFIG_BYTES} bytes`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.2',
    schema: 'core',
    merge: false,
    uniqueKeys: true,
    stringKeys: true,
    prettyErrors: false,
    lineCounter,
  });
  // Any warning (an unknown tag, say) is as fatal as an error.
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem !== undefined) {
    const { line, col } = lineCounter.linePos(problem.pos[0]);
    const why =
      YAML_REASONS[problem.code] ??
      `is not valid YAML (${problem.code.toLowerCase().replaceAll('_', ' ')})`;
    throw new ConfigError(`${fileName}: line ${line}, column ${col}`, why);
  }
  // An alias to an anchor that is not (yet) defined would make toJS throw with the
  // anchor's name in its message; find it first and report its position instead.
  let dangling: number | undefined;
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return undefined;
      dangling = alias.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  if (dangling !== undefined) {
    const { line, col } = lineCounter.linePos(dangling);
    throw new ConfigError(
      `${fileName}: line ${line}, column ${col}`,
      YAML_REASONS['BAD_ALIAS'] ?? '',
    );
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    throw new ConfigError(fileName, 'uses YAML aliases too heavily (an alias bomb?)');
  }
}
