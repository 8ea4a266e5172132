/**
 * DNS and TCP doubles for the tests of where the transports may connect, so that no
 * such test can send traffic off this host even if the code under test regresses: the
 * lookup answers whatever hostile addresses a test scripts, and the connect function
 * records every address it is asked for and refuses (throws) any that is not loopback.
 */
import { connect, type LookupFunction } from 'node:net';
import type { ConnectFunction } from '../../src/transports/destination.js';

/** A lookup that maps names to fixed answers and records the names it was asked. */
export function fakeDns(
  answers: Record<string, string | string[]>,
): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const fn = ((hostname, options, callback) => {
    calls.push(hostname);
    const answer = answers[hostname];
    if (answer === undefined) {
      const err = Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return callback(err, []);
    }
    const list = (Array.isArray(answer) ? answer : [answer]).map((address) => ({
      address,
      family: address.includes(':') ? 6 : 4,
    }));
    if (options.all === true) callback(null, list);
    else callback(null, list[0]?.address ?? '', list[0]?.family);
  }) as LookupFunction & { calls: string[] };
  fn.calls = calls;
  return fn;
}

const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1)$/;

/**
 * A connect function that opens real sockets to loopback only; every address it is asked
 * for is kept in `attempts`, and anything else throws instead of connecting.
 */
export function loopbackOnlyConnect(): ConnectFunction & { attempts: string[] } {
  const attempts: string[] = [];
  const fn = (({ address, family, port }) => {
    attempts.push(address);
    if (!LOOPBACK.test(address)) throw new Error('the test refuses to connect off this host');
    return connect({ host: address, family, port });
  }) as ConnectFunction & { attempts: string[] };
  fn.attempts = attempts;
  return fn;
}
