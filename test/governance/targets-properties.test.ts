/**
 * Target canonicalisation, by property (fast-check, bounded, fixed seed): any string is
 * either refused with InvalidArgumentError or given a canonical form that is a fixed point;
 * every spelling of one target (case, a trailing dot, default ports, a trailing slash,
 * escaped unreserved characters, bracketed or compressed IPv6) has the one canonical form;
 * a dot segment, however encoded, is refused; and matching never crosses target kinds and
 * fails closed on a spelling that is not canonical.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/base/errors.js';
import {
  canonicalTarget,
  canonicalTargetPattern,
  targetKind,
  targetMatches,
} from '../../src/governance/targets.js';
import { runs, unlessRefused } from '../helpers/property.js';

function canonicalOrUndefined(raw: string): string | undefined {
  return unlessRefused(() => canonicalTarget(raw), InvalidArgumentError);
}

/** `text` with letters upper-cased where `upper` says so. */
function respell(text: string, upper: readonly boolean[]): string {
  return [...text].map((ch, i) => (upper[i % upper.length] ? ch.toUpperCase() : ch)).join('');
}

const casing = fc.array(fc.boolean(), { minLength: 1, maxLength: 8 });
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
const hostname = fc
  .array(label, { minLength: 1, maxLength: 4 })
  .filter((labels) => !/^(?:\d+|0x[0-9a-f]*)$/.test(labels[labels.length - 1] ?? ''))
  .map((labels) => labels.join('.'));
const ipv4 = fc
  .tuple(...[0, 1, 2, 3].map(() => fc.integer({ min: 0, max: 255 })))
  .map((o) => o.join('.'));
const hexEscape = (ch: string): string => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
const segment = fc.stringMatching(/^[A-Za-z0-9\-_~!$&'()+,;=:@]{1,8}$/).filter((s) => s !== '.');
const url = fc.record({
  https: fc.boolean(),
  host: fc.oneof(
    hostname,
    ipv4,
    fc.ipV6().map((a) => `[${a}]`),
  ),
  port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  segments: fc.array(segment, { maxLength: 4 }),
});

describe('target canonicalisation (properties)', () => {
  it('refuses any string with InvalidArgumentError, or gives a canonical fixed point', () => {
    const anyText = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: fc.constantFrom(...'aZ09.-:[]%/@*?#\\ 0x'), maxLength: 30 }),
      fc.webUrl(),
      fc.domain(),
    );
    fc.assert(
      fc.property(anyText, (raw) => {
        const canonical = canonicalOrUndefined(raw);
        if (canonical === undefined) return;
        assert.match(canonical, /^[\x21-\x7e]+$/);
        assert.equal(canonicalTarget(canonical), canonical);
        assert.equal(targetKind(canonical), targetKind(raw));
      }),
      runs(1000),
    );
  });

  it('gives every spelling of a hostname the one lower-case form', () => {
    fc.assert(
      fc.property(hostname, casing, fc.boolean(), (name, upper, dot) => {
        const raw = `${respell(name, upper)}${dot ? '.' : ''}`;
        assert.equal(canonicalTarget(raw), name);
        assert.equal(targetKind(raw), 'hostname');
      }),
      runs(500),
    );
  });

  it('gives an IPv4 address its dotted-decimal form, and refuses leading zeros', () => {
    fc.assert(
      fc.property(ipv4, fc.nat(3), (address, at) => {
        assert.equal(canonicalTarget(address), address);
        assert.equal(targetKind(address), 'ipv4');
        const octets = address.split('.');
        octets[at] = `0${octets[at] ?? ''}`;
        assert.equal(canonicalOrUndefined(octets.join('.')), undefined);
      }),
      runs(500),
    );
  });

  it('gives every spelling of an IPv6 address one form', () => {
    fc.assert(
      fc.property(fc.ipV6(), casing, (address, upper) => {
        const canonical = canonicalTarget(address);
        assert.equal(canonicalTarget(`[${respell(address, upper)}]`), canonical);
        assert.equal(canonical, new URL(`http://[${address}]/`).hostname.slice(1, -1));
        assert.equal(targetKind(address), 'ipv6');
      }),
      runs(500),
    );
  });

  it('gives every spelling of a URL one form, and that form matches itself', () => {
    fc.assert(
      fc.property(url, casing, fc.boolean(), fc.nat(), (u, upper, slash, escapeAt) => {
        const scheme = u.https ? 'https' : 'http';
        const port = u.port === undefined ? '' : `:${u.port}`;
        const path = u.segments.map((s) => `/${s}`).join('');
        const canonical = canonicalOrUndefined(`${scheme}://${u.host}${port}${path}`);
        assert.ok(canonical !== undefined);
        // The same target: case, the default port spelt out, a trailing slash, an
        // unreserved character escaped.
        const explicitPort = port === '' ? `:${u.https ? 443 : 80}` : port;
        const chars = [...path];
        const i = chars.length === 0 ? -1 : escapeAt % chars.length;
        if (i >= 0 && /^[A-Za-z0-9\-_~]$/.test(chars[i] ?? ''))
          chars[i] = hexEscape(chars[i] ?? '');
        const respelt = `${respell(`${scheme}://${u.host}`, upper)}${explicitPort}${chars.join('')}${slash ? '/' : ''}`;
        assert.equal(canonicalTarget(respelt), canonical, respelt);
        assert.equal(canonicalTarget(canonical), canonical);
        assert.equal(targetMatches(canonicalTargetPattern(canonical), canonical), true);
        // Fail closed: a spelling that is not the canonical one matches nothing.
        if (respelt !== canonical) assert.equal(targetMatches('*', respelt), false);
      }),
      runs(500),
    );
  });

  it('refuses a URL with a dot segment, however it is spelt', () => {
    const dots = fc.constantFrom('.', '..', '%2e', '%2E%2e', '.%2E', '%2e.');
    fc.assert(
      fc.property(url, dots, fc.nat(), (u, dot, at) => {
        const segments = [...u.segments];
        segments.splice(at % (segments.length + 1), 0, dot);
        const raw = `http://${u.host}/${segments.join('/')}`;
        assert.equal(canonicalOrUndefined(raw), undefined, raw);
      }),
      runs(500),
    );
  });

  it('never matches across kinds, whatever the glob would say; `*` matches every target', () => {
    const target = fc.oneof(hostname, ipv4, fc.ipV6()).map((raw) => canonicalTarget(raw));
    fc.assert(
      fc.property(target, (t) => {
        const kind = targetKind(t);
        assert.equal(targetMatches('*', t), true);
        // An address pattern: as a glob it matches any four-label hostname too.
        assert.equal(targetMatches('*.*.*.*', t), kind === 'ipv4');
        // A hostname pattern: as a glob `f*` matches the IPv6 address fd00::1 too.
        const head = t[0] ?? '';
        if (/^[a-z]$/.test(head)) {
          assert.equal(targetMatches(`${head}*`, t), kind === 'hostname' && t.length > 1);
        }
      }),
      runs(500),
    );
  });
});
