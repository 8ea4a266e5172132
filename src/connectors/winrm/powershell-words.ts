/**
 * The words the PowerShell scanner (powershell-scan.ts) treats specially: keywords by what
 * follows them, the keywords of constructs it refuses, and the few methods and types whose
 * calls only compute (every other method call and static member is refused).
 */

/** Keywords followed by a condition, a block or types: an expression comes next. */
export const KEYWORDS_EXPR = new Set([
  'if',
  'elseif',
  'else',
  'while',
  'for',
  'switch',
  'until',
  'do',
  'try',
  'catch',
  'finally',
  'trap',
  'begin',
  'process',
  'end',
  'clean',
  'param',
  'default',
]);
/** Keywords followed by a pipeline, whose first word is a command. */
export const KEYWORDS_PIPELINE = new Set(['return', 'throw', 'exit', 'in']);
/** Sections the scanner does not follow (classes, DSC, workflows, data): refused. */
export const KEYWORDS_REFUSED = new Set([
  'class',
  'enum',
  'using',
  'workflow',
  'configuration',
  'data',
  'dynamicparam',
  'parallel',
  'sequence',
  'inlinescript',
]);
/** Methods that only compute on strings and collections; any other call is refused. */
export const SAFE_METHODS = new Set([
  'tostring',
  'toupper',
  'tolower',
  'toupperinvariant',
  'tolowerinvariant',
  'trim',
  'trimstart',
  'trimend',
  'split',
  'substring',
  'contains',
  'startswith',
  'endswith',
  'indexof',
  'lastindexof',
  'padleft',
  'padright',
  'equals',
  'compareto',
  'gethashcode',
]);
/** Types whose static members compute only; `::` on any other is refused. */
export const SAFE_STATIC_TYPES = new Set([
  'math',
  'string',
  'int',
  'long',
  'double',
  'decimal',
  'char',
  'bool',
  'datetime',
  'timespan',
  'guid',
  'convert',
  'int32',
  'int64',
  'uint32',
  'byte',
]);
