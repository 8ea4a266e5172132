/**
 * XML for WS-Management, both ways: text escaped for the envelopes we write, and replies
 * read into a small tree whose elements are named by namespace URI, never by prefix
 * (Windows writes `s:`/`w:`/`rsp:`, other servers `env:`/`wsman:`/`shell:`).
 *
 * Why fast-xml-parser (pinned exact): maintained, pure JavaScript (no native build), runs on
 * Node 20, and has a validator that refuses what is not well-formed. It resolves no
 * namespaces, so the tree is walked here with the `xmlns` declarations in scope. What it
 * would do unasked is refused before it runs: a reply larger than the envelope size we ask
 * for, any DOCTYPE (so no entity can be declared, let alone expanded), more than one root,
 * nesting deeper than a WS-Man reply has, and any entity other than XML's five and
 * character references, which are decoded here in one pass.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { BastionError } from '../../base/errors.js';

/** The envelope size we ask servers for (`wsman:MaxEnvelopeSize`); a longer reply is refused. */
export const MAX_ENVELOPE_BYTES = 512_000;
const MAX_DEPTH = 32;

/** One element: its namespace URI, local name, attributes (`{uri}local` or `local`), children, text. */
export interface XmlElement {
  readonly ns: string;
  readonly name: string;
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  readonly text: string;
  /** The prefixes in scope here, for values that are QNames (a fault's `w:TimedOut`). */
  readonly scope: ReadonlyMap<string, string>;
}

/** The reply is not a WS-Man message we can read: never says why in the message (no echo). */
export class WinRmReplyError extends BastionError {
  constructor(code: 'winrm_reply_malformed' | 'winrm_reply_too_large' = 'winrm_reply_malformed') {
    super(code);
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

const UNENCODABLE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Text for element content or an attribute value: the five XML specials escaped, and the
 * characters XML 1.0 cannot carry at all (controls but tab/CR/LF, lone surrogates, U+FFFE/F)
 * refused rather than dropped, so what the target runs is exactly what was checked.
 */
export function xmlText(value: string): string {
  if (UNENCODABLE.test(value)) throw new BastionError('winrm_text_unencodable');
  // A CR would be read back as LF by an XML parser: keep it as a character reference.
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c).replace(/\r/g, '&#13;');
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML's five entities and character references, in one pass (so `&amp;lt;` stays `&lt;`). */
function decodeEntities(text: string): string {
  return text.replace(/&([^;&]{0,10});/g, (_, ref: string) => {
    const named = NAMED[ref];
    if (named !== undefined) return named;
    const m = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(ref);
    const code = m === null ? NaN : parseInt(m[1] ?? m[2] ?? '', m[1] !== undefined ? 16 : 10);
    if (!Number.isInteger(code) || code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) {
      throw new WinRmReplyError();
    }
    return String.fromCodePoint(code);
  });
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_DEPTH,
});

type Ordered = Record<string, unknown>;

function qname(raw: string, scope: ReadonlyMap<string, string>, isAttr: boolean): [string, string] {
  const colon = raw.indexOf(':');
  if (colon < 0) return [isAttr ? '' : (scope.get('') ?? ''), raw];
  const prefix = raw.slice(0, colon);
  const uri = prefix === 'xml' ? 'http://www.w3.org/XML/1998/namespace' : scope.get(prefix);
  if (uri === undefined) throw new WinRmReplyError();
  return [uri, raw.slice(colon + 1)];
}

function build(node: Ordered, outer: ReadonlyMap<string, string>, depth: number): XmlElement {
  if (depth > MAX_DEPTH) throw new WinRmReplyError();
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  const scope = new Map(outer);
  for (const [key, value] of Object.entries(rawAttrs)) {
    if (key === 'xmlns') scope.set('', decodeEntities(value));
    else if (key.startsWith('xmlns:')) scope.set(key.slice(6), decodeEntities(value));
  }
  const tag = Object.keys(node).find((k) => k !== ':@');
  if (tag === undefined || tag === '#text' || tag.startsWith('?')) throw new WinRmReplyError();
  const [ns, name] = qname(tag, scope, false);
  const attrs = new Map<string, string>();
  for (const [key, value] of Object.entries(rawAttrs)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
    const [attrNs, local] = qname(key, scope, true);
    attrs.set(attrNs === '' ? local : `{${attrNs}}${local}`, decodeEntities(value));
  }
  const children: XmlElement[] = [];
  let text = '';
  for (const child of (node[tag] ?? []) as Ordered[]) {
    if ('#text' in child) text += decodeEntities(String(child['#text']));
    else children.push(build(child, scope, depth + 1));
  }
  return { ns, name, attrs, children, text, scope };
}

/**
 * Reads a reply into its root element; throws WinRmReplyError for anything else (too
 * large, not well-formed, a DOCTYPE, an unknown entity or prefix, several roots).
 */
export function parseXml(body: string): XmlElement {
  if (Buffer.byteLength(body) > MAX_ENVELOPE_BYTES)
    throw new WinRmReplyError('winrm_reply_too_large');
  // No DTD of any kind: nothing to declare entities with (comments and CDATA are fine).
  if (/<!(?!--|\[CDATA\[)/.test(body)) throw new WinRmReplyError();
  if (XMLValidator.validate(body) !== true) throw new WinRmReplyError();
  let nodes: Ordered[];
  try {
    nodes = parser.parse(body) as Ordered[];
  } catch {
    throw new WinRmReplyError();
  }
  const roots = nodes.filter((n) => !('#text' in n && String(n['#text']).trim() === ''));
  const [root] = roots;
  if (roots.length !== 1 || root === undefined) throw new WinRmReplyError();
  return build(root, new Map(), 0);
}

/** `{uri}local` of a QName value such as `w:TimedOut`, read with the element's prefixes. */
export function qnameValue(el: XmlElement): string | undefined {
  const value = el.text.trim();
  const colon = value.indexOf(':');
  const uri = el.scope.get(colon < 0 ? '' : value.slice(0, colon));
  return uri === undefined ? undefined : `{${uri}}${value.slice(colon + 1)}`;
}

/** The first child named `{ns}name`, or undefined. */
export function child(
  el: XmlElement | undefined,
  ns: string,
  name: string,
): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.name === name);
}

/** Every child named `{ns}name`. */
export function childrenNamed(el: XmlElement, ns: string, name: string): XmlElement[] {
  return el.children.filter((c) => c.ns === ns && c.name === name);
}

/** The first descendant (depth first) named `{ns}name`, or undefined. */
export function descendant(el: XmlElement, ns: string, name: string): XmlElement | undefined {
  for (const c of el.children) {
    if (c.ns === ns && c.name === name) return c;
    const found = descendant(c, ns, name);
    if (found !== undefined) return found;
  }
  return undefined;
}
