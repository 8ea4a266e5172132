/**
 * The WinRS shell driver, as a unit: an in-test fake `send` plays scripted Windows replies
 * (not a peer double — no HTTP, no authentication) and records the actions it was sent, so
 * each test shows the order Create → Command → Receive… → (Signal) → Delete on every path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCommand, type SendEnvelope } from '../../../src/connectors/winrm/shell-run.js';
import { NS } from '../../../src/connectors/winrm/wsman.js';
import { child, descendant, parseXml } from '../../../src/connectors/winrm/xml.js';
import { commandReply, createReply, emptyReply, faultReply, receiveReply } from './replies.js';

type Step = string | ((signal: AbortSignal) => Promise<string>);

/** A scripted target: Create, Command and Receive answer from `receives` in turn. */
function fakeTarget(receives: Step[], overrides: { create?: Step; command?: Step } = {}) {
  const actions: string[] = [];
  const signals: string[] = [];
  const send: SendEnvelope = async (envelope, signal) => {
    const env = parseXml(envelope);
    const action = child(child(env, NS.soap, 'Header'), NS.wsa, 'Action')?.text ?? '';
    const name = action.slice(action.lastIndexOf('/') + 1);
    actions.push(name);
    let step: Step | undefined;
    if (name === 'Create') step = overrides.create ?? createReply();
    else if (name === 'Command') step = overrides.command ?? commandReply();
    else if (name === 'Receive') step = receives.shift();
    else if (name === 'Signal') {
      signals.push(descendant(env, NS.shell, 'Code')?.text ?? '');
      step = emptyReply();
    } else step = emptyReply();
    if (step === undefined) throw new Error('the script ran out');
    return typeof step === 'string' ? step : step(signal);
  };
  return { send, actions, signals };
}

const OPTIONS = {
  to: 'http://win.internal.test:5985/wsman',
  timeoutMs: 60_000,
  maxOutputBytes: 1024,
};

/** A reply that never comes: it rejects when the driver's signal aborts. */
const hang = (signal: AbortSignal): Promise<string> =>
  new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    else signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });

describe('WinRS shell driver (unit, scripted fake send)', () => {
  it('runs over several Receive rounds until Done, keeping stdout, stderr and the exit code', async () => {
    const target = fakeTarget([
      receiveReply([['stdout', 'one ']]),
      receiveReply([
        ['stderr', 'careful'],
        ['stdout', 'two'],
      ]),
      receiveReply(
        [
          ['stdout', '', true],
          ['stderr', '', true],
        ],
        { exitCode: 7 },
      ),
    ]);
    const result = await runCommand(target.send, { argv: ['whoami', '/all'] }, OPTIONS);
    assert.deepEqual(target.actions, [
      'Create',
      'Command',
      'Receive',
      'Receive',
      'Receive',
      'Delete',
    ]);
    assert.equal(result.stdout, 'one two');
    assert.equal(result.stderr, 'careful');
    assert.equal(result.exit_code, 7);
    assert.equal(result.timed_out, false);
    assert.equal(result.stdout_truncated, false);
  });

  it('polls again after w:TimedOut (the long poll ended with nothing new)', async () => {
    const target = fakeTarget([
      faultReply('w:TimedOut', 'The WS-Management service cannot complete the operation'),
      faultReply('w:TimedOut', 'again'),
      receiveReply([['stdout', 'late']], { exitCode: 0 }),
    ]);
    const result = await runCommand(target.send, { command: 'dir' }, OPTIONS);
    assert.deepEqual(target.actions, [
      'Create',
      'Command',
      'Receive',
      'Receive',
      'Receive',
      'Delete',
    ]);
    assert.equal(result.stdout, 'late');
    assert.equal(result.exit_code, 0);
  });

  it('a fault midway throws its code, after Signal terminate and Delete', async () => {
    const target = fakeTarget([
      receiveReply([['stdout', 'x']]),
      faultReply('w:AccessDenied', 'no'),
    ]);
    await assert.rejects(runCommand(target.send, { argv: ['whoami'] }, OPTIONS), {
      code: 'winrm_access_denied',
    });
    assert.deepEqual(target.actions, [
      'Create',
      'Command',
      'Receive',
      'Receive',
      'Signal',
      'Delete',
    ]);
    assert.deepEqual(target.signals, [`${NS.shell}/signal/terminate`]);
  });

  it('a fault on Command deletes the shell; a fault on Create sends nothing more', async () => {
    const onCommand = fakeTarget([], { command: faultReply('w:QuotaLimit', 'too many') });
    await assert.rejects(runCommand(onCommand.send, { argv: ['x'] }, OPTIONS), {
      code: 'winrm_quota_exceeded',
    });
    assert.deepEqual(onCommand.actions, ['Create', 'Command', 'Delete']);
    const onCreate = fakeTarget([], { create: faultReply('w:AccessDenied', 'no') });
    await assert.rejects(runCommand(onCreate.send, { argv: ['x'] }, OPTIONS), {
      code: 'winrm_access_denied',
    });
    assert.deepEqual(onCreate.actions, ['Create']);
  });

  it('a malformed reply throws winrm_reply_malformed and still deletes the shell', async () => {
    const target = fakeTarget(['<not-soap/>']);
    await assert.rejects(runCommand(target.send, { argv: ['x'] }, OPTIONS), {
      code: 'winrm_reply_malformed',
    });
    assert.deepEqual(target.actions, ['Create', 'Command', 'Receive', 'Signal', 'Delete']);
  });

  it('past the deadline: Signal terminate, Delete, and a timed-out result with what arrived', async () => {
    const target = fakeTarget([receiveReply([['stdout', 'partial']]), hang]);
    const result = await runCommand(target.send, { argv: ['sleep'] }, { ...OPTIONS, timeoutMs: 1 });
    assert.deepEqual(target.actions, [
      'Create',
      'Command',
      'Receive',
      'Receive',
      'Signal',
      'Delete',
    ]);
    assert.deepEqual(target.signals, [`${NS.shell}/signal/terminate`]);
    assert.equal(result.timed_out, true);
    assert.equal(result.exit_code, null);
    assert.equal(result.signal, 'terminate');
    assert.equal(result.stdout, 'partial');
  });

  it("the caller's abort: Signal terminate and Delete; aborted before start: nothing sent", async () => {
    const controller = new AbortController();
    const target = fakeTarget([
      (signal) => {
        controller.abort();
        return hang(signal);
      },
    ]);
    const result = await runCommand(
      target.send,
      { argv: ['x'] },
      { ...OPTIONS, signal: controller.signal },
    );
    assert.deepEqual(target.actions, ['Create', 'Command', 'Receive', 'Signal', 'Delete']);
    assert.equal(result.timed_out, true);

    const early = fakeTarget([]);
    const aborted = await runCommand(
      early.send,
      { argv: ['x'] },
      { ...OPTIONS, signal: AbortSignal.abort() },
    );
    assert.deepEqual(early.actions, []);
    assert.equal(aborted.timed_out, true);
  });

  it('output over the limit is cut and flagged; both streams over: the command is terminated', async () => {
    const big = 'x'.repeat(700);
    const one = fakeTarget([
      receiveReply([['stdout', big]]),
      receiveReply([['stdout', big]], { exitCode: 0 }),
    ]);
    const cut = await runCommand(one.send, { argv: ['x'] }, OPTIONS);
    assert.equal(cut.stdout.length, 1024);
    assert.equal(cut.stdout_truncated, true);
    assert.equal(cut.stderr_truncated, false);
    assert.equal(cut.exit_code, 0);
    assert.deepEqual(one.actions, ['Create', 'Command', 'Receive', 'Receive', 'Delete']);

    const both = fakeTarget([
      receiveReply([
        ['stdout', big + big],
        ['stderr', big + big],
      ]),
      receiveReply([['stdout', 'never read']]),
    ]);
    const flood = await runCommand(both.send, { argv: ['x'] }, OPTIONS);
    assert.deepEqual(both.actions, ['Create', 'Command', 'Receive', 'Signal', 'Delete']);
    assert.equal(flood.stdout_truncated && flood.stderr_truncated, true);
    assert.equal(flood.exit_code, null);
    assert.equal(flood.timed_out, false);
  });

  it('a target that fails Signal and Delete does not hide the result', async () => {
    const target = fakeTarget([receiveReply([['stdout', 'ok']], { exitCode: 0 })]);
    const failing: SendEnvelope = (envelope, signal) =>
      envelope.includes('/transfer/Delete')
        ? Promise.reject(new Error('gone'))
        : target.send(envelope, signal);
    const result = await runCommand(failing, { argv: ['x'] }, OPTIONS);
    assert.equal(result.stdout, 'ok');
  });
});
