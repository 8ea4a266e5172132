// The accord decision: each rule's refusal and its boundary, the order the rules run in,
// time windows (overnight, other zones, DST) and command allow/deny lists.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError, isKnownErrorCode, toErrorResponse } from '../../src/base/errors.js';
import type { AccessRequest, Accord, TimeWindow } from '../../src/governance/accords.js';
import {
  commandAllowed,
  decide,
  POLICY_DENIAL_CODES,
  PolicyDeniedError,
  withinTimeWindow,
} from '../../src/governance/accords.js';
import { compileGlob, globMatches } from '../../src/governance/patterns.js';
import { referenceGlob } from '../helpers/glob-reference.js';
import { expectNoMarker, newMarker } from '../helpers/leak.js';

const ALICE = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const BOB = 'did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG';

function accord(overrides: Partial<Accord> = {}): Accord {
  return {
    id: 'ops-exec',
    principals: [ALICE],
    connectors: ['ssh', 'bascule'],
    targets: ['*.internal.test', '127.0.0.1'],
    capabilities: ['read', 'exec'],
    commands: { allow: ['uptime', 'systemctl status *'], deny: ['*rm *'] },
    max_duration_seconds: 900,
    approvals: { required: 0, approvers: [] },
    admins: [],
    ...overrides,
  };
}

function accords(...list: Accord[]): Map<string, Accord> {
  return new Map(list.map((a) => [a.id, a]));
}

function request(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    principal_did: ALICE,
    accord: 'ops-exec',
    connector: 'ssh',
    target: 'db1.internal.test',
    capabilities: ['read'],
    duration_seconds: 300,
    ...overrides,
  };
}

const NOW = new Date('2024-03-04T12:00:00Z'); // a Monday

function denied(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof PolicyDeniedError, `expected PolicyDeniedError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.status, 403);
    return true;
  };
}

function invalid(what: string) {
  return (err: unknown): boolean => {
    assert.ok(
      err instanceof InvalidArgumentError,
      `expected InvalidArgumentError, got ${String(err)}`,
    );
    assert.equal(err.message, `Invalid ${what}`);
    assert.equal(err.status, 400);
    return true;
  };
}

describe('decide', () => {
  it('grants a request inside the accord', () => {
    const a = accord();
    const decision = decide(accords(a), request({ target: 'DB1.Internal.Test.' }), NOW);
    assert.deepEqual(decision, {
      accord: a,
      target: 'db1.internal.test',
      capabilities: ['read'],
      capability_mask: 1,
      duration_seconds: 300,
      approvals_required: 0,
    });
  });

  it('deduplicates capabilities and puts them in CAPABILITIES order', () => {
    const decision = decide(
      accords(accord()),
      request({ capabilities: ['exec', 'read', 'exec'] }),
      NOW,
    );
    assert.deepEqual(decision.capabilities, ['read', 'exec']);
    assert.equal(decision.capability_mask, 0b11);
  });

  it('reports the approvals the accord requires', () => {
    const a = accord({ approvals: { required: 2, approvers: [ALICE, BOB] } });
    assert.equal(decide(accords(a), request(), NOW).approvals_required, 2);
  });

  const refusals: [string, Partial<AccessRequest>, Partial<Accord>, string][] = [
    ['an unknown accord', { accord: 'nope' }, {}, 'unknown_accord'],
    [
      'an accord id that is an Object.prototype key',
      { accord: 'constructor' },
      {},
      'unknown_accord',
    ],
    ['a principal not in the accord', { principal_did: BOB }, {}, 'principal_not_allowed'],
    ['a connector not in the accord', { connector: 'winrm' }, {}, 'connector_not_allowed'],
    ['a target outside every pattern', { target: 'db1.other.test' }, {}, 'target_not_allowed'],
    ['the parent domain of a wildcard', { target: 'internal.test' }, {}, 'target_not_allowed'],
    ['localhost when only 127.0.0.1 is allowed', { target: 'localhost' }, {}, 'target_not_allowed'],
    ['an IP under a name pattern', { target: '10.0.0.1' }, {}, 'target_not_allowed'],
    [
      'an address-shaped name under a URL IPv4 pattern',
      { target: 'https://10.evil.example.com' },
      { targets: ['https://10.*.*.*'] },
      'target_not_allowed',
    ],
    [
      'a capability the accord lacks',
      { capabilities: ['read', 'write'] },
      {},
      'capability_not_granted',
    ],
    [
      'a capability the accord lacks, alone',
      { capabilities: ['admin'] },
      {},
      'capability_not_granted',
    ],
    ['one second more than the maximum', { duration_seconds: 901 }, {}, 'duration_exceeds_max'],
    [
      'a time outside every window',
      {},
      { time_windows: [{ days: ['sat'], start: '00:00', end: '24:00', tz: 'UTC' }] },
      'outside_time_window',
    ],
    ['an empty list of windows (never open)', {}, { time_windows: [] }, 'outside_time_window'],
  ];
  for (const [why, req, acc, code] of refusals) {
    it(`refuses ${why} with ${code}`, () => {
      assert.throws(() => decide(accords(accord(acc)), request(req), NOW), denied(code));
    });
  }

  it('grants an IPv4 URL target under a URL IPv4 pattern', () => {
    const a = accord({ targets: ['https://10.*.*.*'] });
    assert.equal(
      decide(accords(a), request({ target: 'https://10.1.2.3' }), NOW).target,
      'https://10.1.2.3',
    );
  });

  it('allows exactly the maximum duration', () => {
    assert.equal(
      decide(accords(accord()), request({ duration_seconds: 900 }), NOW).duration_seconds,
      900,
    );
    assert.equal(
      decide(accords(accord()), request({ duration_seconds: 1 }), NOW).duration_seconds,
      1,
    );
  });

  const badArguments: [string, Partial<AccessRequest>, string][] = [
    ['an invalid target', { target: '010.0.0.1' }, 'target'],
    ['a target with userinfo', { target: 'https://u@db1.internal.test' }, 'target'],
    ['a non-string target', { target: 7 as unknown as string }, 'target'],
    ['an empty capability list', { capabilities: [] }, 'capabilities'],
    ['an unknown capability', { capabilities: ['read', 'fly'] }, 'capabilities'],
    ['a prototype key as a capability', { capabilities: ['toString'] }, 'capabilities'],
    [
      'capabilities that are not a list',
      { capabilities: 'read' as unknown as string[] },
      'capabilities',
    ],
    ['too many capability names', { capabilities: Array<string>(65).fill('read') }, 'capabilities'],
    ['a zero duration', { duration_seconds: 0 }, 'duration_seconds'],
    ['a negative duration', { duration_seconds: -1 }, 'duration_seconds'],
    ['a fractional duration', { duration_seconds: 1.5 }, 'duration_seconds'],
    ['a NaN duration', { duration_seconds: Number.NaN }, 'duration_seconds'],
    ['an infinite duration', { duration_seconds: Number.POSITIVE_INFINITY }, 'duration_seconds'],
    ['a string duration', { duration_seconds: '60' as unknown as number }, 'duration_seconds'],
  ];
  for (const [why, req, what] of badArguments) {
    it(`answers ${why} with invalid_argument (${what})`, () => {
      assert.throws(() => decide(accords(accord()), request(req), NOW), invalid(what));
    });
  }

  it('checks the rules in order: accord, principal, connector, target, capabilities, duration, window', () => {
    const closed = accord({
      time_windows: [{ days: ['sun'], start: '00:00', end: '01:00', tz: 'UTC' }],
    });
    const everythingWrong: AccessRequest = {
      principal_did: BOB,
      accord: 'ops-exec',
      connector: 'winrm',
      target: 'db1.other.test',
      capabilities: ['admin'],
      duration_seconds: 901,
    };
    const steps: [Partial<AccessRequest>, string][] = [
      [{ accord: 'nope' }, 'unknown_accord'],
      [{}, 'principal_not_allowed'],
      [{ principal_did: ALICE }, 'connector_not_allowed'],
      [{ principal_did: ALICE, connector: 'ssh' }, 'target_not_allowed'],
      [{ principal_did: ALICE, connector: 'ssh', target: '127.0.0.1' }, 'capability_not_granted'],
      [
        { principal_did: ALICE, connector: 'ssh', target: '127.0.0.1', capabilities: ['exec'] },
        'duration_exceeds_max',
      ],
      [
        {
          principal_did: ALICE,
          connector: 'ssh',
          target: '127.0.0.1',
          capabilities: ['exec'],
          duration_seconds: 900,
        },
        'outside_time_window',
      ],
    ];
    for (const [fix, code] of steps) {
      assert.throws(
        () => decide(accords(closed), { ...everythingWrong, ...fix }, NOW),
        denied(code),
      );
    }
    // Argument errors come at their own step: a principal who may not use the accord learns
    // nothing about whether the rest of the request was well formed.
    assert.throws(
      () => decide(accords(closed), { ...everythingWrong, target: 'not a target' }, NOW),
      denied('principal_not_allowed'),
    );
  });

  it('declares every denial code, with fixed messages that never echo the request', () => {
    for (const code of POLICY_DENIAL_CODES) {
      assert.ok(isKnownErrorCode(code));
      const err = new PolicyDeniedError(code);
      assert.equal(toErrorResponse(err).status, 403);
      assert.equal(toErrorResponse(err).body.error.code, code);
    }
    const marker = newMarker();
    const attempts: Partial<AccessRequest>[] = [
      { accord: marker },
      { principal_did: marker },
      { connector: marker },
      { target: `${marker}.test` },
      { target: marker },
      { capabilities: [marker] },
    ];
    for (const attempt of attempts) {
      assert.throws(
        () => decide(accords(accord()), request(attempt), NOW),
        (err: unknown) => {
          expectNoMarker(`${String(err)} ${JSON.stringify(err)}`, marker, 'error');
          return true;
        },
      );
    }
  });
});

describe('time windows', () => {
  const at = (iso: string) => new Date(iso);
  const office: TimeWindow = {
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    start: '09:00',
    end: '17:00',
    tz: 'UTC',
  };
  // Opens Friday 22:00 and runs to Saturday 06:00.
  const overnight: TimeWindow = { days: ['fri'], start: '22:00', end: '06:00', tz: 'UTC' };
  const newYork: TimeWindow = { ...office, tz: 'America/New_York' };
  const allDay: TimeWindow = { days: ['sun'], start: '00:00', end: '24:00', tz: 'UTC' };
  // 02:00-03:00 on the second Sunday of March does not exist in New York.
  const springGap: TimeWindow = {
    days: ['sun'],
    start: '02:00',
    end: '03:00',
    tz: 'America/New_York',
  };

  const cases: [string, TimeWindow, string, boolean][] = [
    ['office: at start', office, '2024-03-04T09:00:00.000Z', true],
    ['office: just before start', office, '2024-03-04T08:59:59.999Z', false],
    ['office: last instant', office, '2024-03-04T16:59:59.999Z', true],
    ['office: at end (exclusive)', office, '2024-03-04T17:00:00.000Z', false],
    ['office: Friday', office, '2024-03-08T12:00:00Z', true],
    ['office: Saturday', office, '2024-03-09T12:00:00Z', false],
    ['office: Sunday', office, '2024-03-10T12:00:00Z', false],
    ['overnight: at start on its day', overnight, '2024-03-08T22:00:00Z', true],
    ['overnight: before start on its day', overnight, '2024-03-08T21:59:59Z', false],
    ['overnight: just before midnight', overnight, '2024-03-08T23:59:59Z', true],
    ['overnight: past midnight, the next day', overnight, '2024-03-09T00:00:00Z', true],
    ['overnight: last instant', overnight, '2024-03-09T05:59:59.999Z', true],
    ['overnight: at end', overnight, '2024-03-09T06:00:00Z', false],
    ['overnight: Saturday evening is not an opening day', overnight, '2024-03-09T22:30:00Z', false],
    ['overnight: Friday early hours belong to Thursday', overnight, '2024-03-08T03:00:00Z', false],
    ['overnight: Thursday night', overnight, '2024-03-07T23:00:00Z', false],
    ['all day: midnight', allDay, '2024-03-10T00:00:00Z', true],
    ['all day: last instant', allDay, '2024-03-10T23:59:59.999Z', true],
    ['all day: next midnight', allDay, '2024-03-11T00:00:00Z', false],
    // New York is UTC-5 (EST) until 2024-03-10 07:00Z, UTC-4 (EDT) after.
    ['New York, EST: 09:00 local', newYork, '2024-03-08T14:00:00Z', true],
    ['New York, EST: 08:59 local', newYork, '2024-03-08T13:59:00Z', false],
    ['New York, EST: 13:30Z is 08:30 local', newYork, '2024-03-08T13:30:00Z', false],
    ['New York, EST: 16:59 local', newYork, '2024-03-08T21:59:59Z', true],
    ['New York, EST: 17:00 local', newYork, '2024-03-08T22:00:00Z', false],
    ['New York, EDT: 09:00 local', newYork, '2024-03-11T13:00:00Z', true],
    ['New York, EDT: 08:59 local', newYork, '2024-03-11T12:59:59Z', false],
    ['New York, EDT: 13:30Z is 09:30 local', newYork, '2024-03-11T13:30:00Z', true],
    ['New York, EDT: 17:00 local', newYork, '2024-03-11T21:00:00Z', false],
    ['New York, EDT: 16:59 local', newYork, '2024-03-11T20:59:59Z', true],
    ['New York: Saturday 01:00Z is Friday 20:00 local', newYork, '2024-03-09T01:00:00Z', false],
    ['New York: Monday 02:00Z is Sunday local', newYork, '2024-03-11T02:00:00Z', false],
    ['spring gap: 01:59 EST', springGap, '2024-03-10T06:59:59Z', false],
    ['spring gap: 03:00 EDT (02:00 never happens)', springGap, '2024-03-10T07:00:00Z', false],
  ];
  for (const [why, window, iso, expected] of cases) {
    it(`${expected ? 'open' : 'closed'}: ${why}`, () => {
      assert.equal(withinTimeWindow(window, at(iso)), expected);
    });
  }

  it('is closed at an invalid Date rather than throwing', () => {
    assert.equal(withinTimeWindow(allDay, new Date(Number.NaN)), false);
  });

  it('is closed for a window whose start equals its end', () => {
    const empty: TimeWindow = { days: ['mon'], start: '09:00', end: '09:00', tz: 'UTC' };
    assert.equal(withinTimeWindow(empty, at('2024-03-04T09:00:00Z')), false);
  });

  it('opens when any window is open, and decide enforces it at the boundary', () => {
    const a = accord({ time_windows: [overnight, office] });
    assert.ok(decide(accords(a), request(), at('2024-03-04T09:00:00Z')));
    assert.ok(decide(accords(a), request(), at('2024-03-09T05:59:59Z')));
    assert.throws(
      () => decide(accords(a), request(), at('2024-03-04T17:00:00Z')),
      denied('outside_time_window'),
    );
    const ny = accord({ time_windows: [newYork] });
    assert.ok(decide(accords(ny), request(), at('2024-03-11T13:00:00Z')));
    assert.throws(
      () => decide(accords(ny), request(), at('2024-03-11T12:59:59Z')),
      denied('outside_time_window'),
    );
  });
});

describe('commandAllowed', () => {
  const policy = { allow: ['uptime', 'systemctl status *'], deny: ['*rm *'] };
  const cases: [string, { allow: string[]; deny: string[] } | undefined, string, boolean][] = [
    ['no command policy allows anything', undefined, 'rm -rf /', true],
    ['an exact allow', policy, 'uptime', true],
    ['allow is anchored at the end', policy, 'uptime; rm -rf /', false],
    ['allow is anchored at the start', policy, 'sudo uptime', false],
    ['a glob allow', policy, 'systemctl status nginx', true],
    ['a glob allow needs its * to match something', policy, 'systemctl status ', false],
    ['a command outside the allow list', policy, 'systemctl restart nginx', false],
    ['deny wins over allow', policy, 'systemctl status x; rm -rf /', false],
    // `*rm *` needs at least one character before `rm`, so it does NOT match a command that
    // starts with `rm`: `rm -rf /` escapes this deny pattern. It is refused here only
    // because it is not on the allow list; a deny list meant to catch it needs `rm *` too.
    ['rm -rf / escapes *rm * but is not allowed', policy, 'rm -rf /', false],
    ['deny matches rm after a prefix', { allow: ['*'], deny: ['*rm *'] }, 'sudo rm -rf /', false],
    ['with allow *, rm -rf / passes *rm *', { allow: ['*'], deny: ['*rm *'] }, 'rm -rf /', true],
    ['rm * catches it', { allow: ['*'], deny: ['*rm *', 'rm *'] }, 'rm -rf /', false],
    ['an empty allow list allows nothing', { allow: [], deny: [] }, 'uptime', false],
    ['allow * allows any non-empty command', { allow: ['*'], deny: [] }, 'anything at all', true],
    ['allow * does not allow the empty command', { allow: ['*'], deny: [] }, '', false],
    ['? is exactly one character', { allow: ['ls -?'], deny: [] }, 'ls -l', true],
    ['? is not two characters', { allow: ['ls -?'], deny: [] }, 'ls -la', false],
    ['regex metacharacters are literal', { allow: ['echo a.b|c'], deny: [] }, 'echo aXb|c', false],
    [
      'regex metacharacters match themselves',
      { allow: ['echo a.b|c'], deny: [] },
      'echo a.b|c',
      true,
    ],
    ['a newline is refused under a policy', { allow: ['*'], deny: [] }, 'uptime\nrm -rf /', false],
    ['a NUL is refused under a policy', { allow: ['*'], deny: [] }, 'uptime\u0000', false],
  ];
  for (const [why, commands, command, expected] of cases) {
    it(why, () => {
      assert.equal(commandAllowed(commands, command), expected);
    });
  }
});

describe('glob patterns', () => {
  it('compiles to an anchored RegExp', () => {
    const regex = compileGlob('a*b');
    assert.ok(regex.source.startsWith('^') && regex.source.endsWith('$'));
    assert.equal(regex.test('xa1bx'), false);
    assert.equal(regex.test('a1b'), true);
  });

  it('collapses consecutive stars', () => {
    assert.equal(globMatches('a**b', 'a1b'), true);
    assert.equal(globMatches('a**b', 'ab'), false);
  });

  it('refuses empty, over-long and control-character patterns', () => {
    for (const bad of ['', 'x'.repeat(257), 'a\nb']) {
      assert.throws(() => compileGlob(bad), InvalidArgumentError);
    }
    assert.doesNotThrow(() => compileGlob('x'.repeat(256)));
  });

  it('agrees with a reference matcher on every short pattern and string', () => {
    // Exhaustive over a small alphabet: the lookahead translation must be exact.
    const words = (alphabet: string, max: number): string[] => {
      const out = [''];
      for (let length = 1; length <= max; length += 1) {
        for (const prefix of out.filter((w) => w.length === length - 1)) {
          for (const c of alphabet) out.push(prefix + c);
        }
      }
      return out;
    };
    const texts = words('ab', 6);
    for (const pattern of words('ab*?', 4).filter((w) => w !== '')) {
      for (const text of texts) {
        assert.equal(
          globMatches(pattern, text),
          referenceGlob(pattern, text),
          `${pattern} / ${text}`,
        );
      }
    }
  });

  it('returns promptly on a pattern built to backtrack (ReDoS)', () => {
    // `*a*a*a…` against a long run of `a` ending in `b` is exponential for `.+a.+a…`;
    // only the results are asserted, a hang would time the test out.
    const pattern = '*a'.repeat(100);
    assert.equal(pattern.length, 200);
    assert.equal(globMatches(pattern, `${'a'.repeat(20_000)}b`), false);
    assert.equal(globMatches(pattern, 'a'.repeat(20_000)), true);
    assert.equal(commandAllowed({ allow: [pattern], deny: [] }, `${'a'.repeat(5_000)}b`), false);
    assert.equal(commandAllowed({ allow: ['*'], deny: [`${pattern}*`] }, 'a'.repeat(5_000)), false);
  });
});
