/**
 * A time limit as an AbortSignal, held by a real timer and cleared when the work is done.
 * Not `AbortSignal.timeout()`: in Node 20 a request can hold that signal only weakly, so it
 * can be garbage-collected before it fires and leave a fetch waiting for ever (seen as a
 * hung test under load). Aborts also when `outer` does.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Stops the timer and forgets `outer`; call in `finally`. */
  clear(): void;
}

export function deadline(ms: number, outer?: AbortSignal): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('timed out', 'TimeoutError')),
    ms,
  );
  const onOuter = (): void => controller.abort(outer?.reason);
  if (outer?.aborted === true) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}
