/**
 * A few DOM helpers, so that views build elements (never HTML text: every value the API
 * returns lands in textContent or an attribute, so no request field can become markup).
 */
type Child = Node | string | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  for (const child of children) if (child !== undefined && child !== false) element.append(child);
  return element;
}

export function button(label: string, onClick: () => void, attrs: Record<string, string> = {}) {
  const b = h('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', onClick);
  return b;
}

/** A labelled form field: `<label>` wrapping its text and control. */
export function field(label: string, control: HTMLElement): HTMLLabelElement {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

/** A table that scrolls sideways on a narrow screen instead of widening the page. */
export function table(caption: string, head: string[], rows: HTMLTableRowElement[]) {
  const t = h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows),
  );
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption }, t);
}

export function row(cells: Child[], attrs: Record<string, string> = {}): HTMLTableRowElement {
  return h('tr', attrs, ...cells.map((c) => h('td', {}, c)));
}

/** A DID, shortened for display; the whole of it in the title and for copying. */
export function did(value: string | undefined): HTMLElement {
  if (value === undefined) return h('span', {}, '—');
  const short = value.length > 24 ? `${value.slice(0, 16)}…${value.slice(-6)}` : value;
  return h('code', { title: value, class: 'did' }, short);
}

export function when(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** The place views say what happened (an aria-live region, read out by screen readers). */
export function say(text: string, kind: 'info' | 'error' = 'info'): void {
  const status = document.getElementById('status');
  if (status === null) return;
  status.textContent = text;
  status.dataset['kind'] = kind;
}

/** Runs a view action, reporting a refusal by the broker's code and message. */
export async function attempt(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    say(`${what}: ${e.code ?? 'error'} — ${e.message ?? 'failed'}`, 'error');
  }
}
