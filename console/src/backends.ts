/** Backends: each secrets backend's health and circuit state (GET /health/backends, admins). */
import { call } from './api.js';
import { attempt, button, h, row, table, when } from './dom.js';
import type { Identity } from './keys.js';
import type { BackendHealth } from './types.js';

const ms = (v: number | null): string => (v === null ? '—' : `${Math.round(v)} ms`);

export async function backendsView(me: Identity, root: HTMLElement): Promise<void> {
  const { backends } = await call<{ backends: BackendHealth[] }>(me, 'GET', '/health/backends');
  const rows = backends.map((b) =>
    row(
      [
        b.id,
        b.types.join(', '),
        h('span', { class: `circuit ${b.state}` }, b.state.replace('_', '-')),
        String(b.consecutive_failures),
        when(b.last_success_at ?? undefined),
        b.last_failure_reason ?? '—',
        `${ms(b.latency_ms.p50)} / ${ms(b.latency_ms.p95)}`,
      ],
      { 'data-backend': b.id, 'data-state': b.state },
    ),
  );
  root.replaceChildren(
    h('h2', {}, 'Backends'),
    h(
      'div',
      { class: 'toolbar' },
      button('Refresh', () => void attempt('Refresh', () => backendsView(me, root))),
    ),
    table(
      'Secrets backends',
      [
        'Backend',
        'Credential types',
        'Circuit',
        'Failures in a row',
        'Last success',
        'Last failure',
        'Latency p50 / p95',
      ],
      rows,
    ),
  );
}
