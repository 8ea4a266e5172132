/**
 * Debian's Chromium driven by playwright-core, for the web console's tests: headless, no
 * sandbox (tests run as root), nothing fetched from the network by the browser itself, a
 * fresh temporary profile per launch (playwright-core's own, removed on close), and no
 * browser download ever (the executable is given). Each page records its console messages,
 * page errors and any request that leaves the broker's origin.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { skipWithoutFile } from './peer-skip.js';
import { repoRoot } from './paths.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Why the browser tests skip (never under CI: there a missing Chromium fails them), or false. */
export const CHROMIUM_SKIP = skipWithoutFile(CHROMIUM, 'Chromium', 'scripts/debian-packages.sh');
/** Where screenshots go (git-ignored). */
export const ARTIFACTS = join(repoRoot, 'build/artifacts/console');

export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface WatchedPage {
  readonly page: Page;
  /** `type: text` of every console message, and every uncaught page error. */
  readonly logs: string[];
  /** Every request the page made outside the broker's origin. */
  readonly foreign: string[];
}

export async function openConsole(
  context: BrowserContext,
  brokerUrl: string,
): Promise<WatchedPage> {
  const page = await context.newPage();
  const logs: string[] = [];
  const foreign: string[] = [];
  const origin = new URL(brokerUrl).origin;
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith('blob:') && new URL(url).origin !== origin) foreign.push(url);
  });
  await page.goto(`${brokerUrl}/console/`);
  return { page, logs, foreign };
}

/**
 * What the page's origin holds and shows: its HTML, localStorage, sessionStorage and every
 * IndexedDB record (a CryptoKey as its type, algorithm and extractability: its bytes are
 * out of reach of script, which is the point).
 */
const DUMP = `(async () => {
  const describe = (v) => JSON.stringify(v, (_k, x) =>
    x instanceof CryptoKey ? { CryptoKey: x.type, algorithm: x.algorithm.name, extractable: x.extractable } : x);
  const dbs = [];
  for (const { name } of await indexedDB.databases()) {
    const db = await new Promise((ok, ko) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = ko; });
    for (const store of db.objectStoreNames) {
      const records = await new Promise((ok, ko) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); r.onerror = ko; });
      dbs.push({ db: name, store, records: JSON.parse(describe(records)) });
    }
    db.close();
  }
  const all = (s) => Object.fromEntries(Object.keys(s).map((k) => [k, s.getItem(k)]));
  return { html: document.documentElement.outerHTML, local: all(localStorage), session: all(sessionStorage), indexedDb: dbs };
})()`;

export interface PageDump {
  html: string;
  local: Record<string, string>;
  session: Record<string, string>;
  indexedDb: { db: string; store: string; records: unknown[] }[];
}

export function dumpPage(page: Page): Promise<PageDump> {
  return page.evaluate<PageDump>(DUMP);
}

/**
 * The layout at one size, checked without pixels: the page does not scroll sideways, each
 * of `selectors` is visible and inside the viewport's width, and the view's buttons do not
 * overlap. Then a screenshot, as an artefact.
 */
export async function checkLayout(
  page: Page,
  name: string,
  size: { width: number; height: number },
  selectors: readonly string[],
): Promise<void> {
  await page.setViewportSize(size);
  const scrollWidth = await page.evaluate<number>('document.documentElement.scrollWidth');
  assert.ok(scrollWidth <= size.width, `${name} @${size.width}: page scrolls sideways`);
  for (const selector of selectors) {
    const element = page.locator(selector).first();
    assert.ok(await element.isVisible(), `${name} @${size.width}: ${selector} is not visible`);
    const box = await element.boundingBox();
    assert.ok(box !== null && box.width > 0 && box.height > 0, `${name}: ${selector} has no box`);
    assert.ok(
      box.x >= 0 && box.x + box.width <= size.width + 0.5,
      `${name}: ${selector} overflows`,
    );
  }
  const boxes = [];
  for (const b of await page.locator('header button, main button').all()) {
    if (await b.isVisible()) boxes.push(await b.boundingBox());
  }
  for (const [i, a] of boxes.entries()) {
    for (const b of boxes.slice(i + 1)) {
      if (a === null || b === null) continue;
      const apart =
        a.x + a.width <= b.x ||
        b.x + b.width <= a.x ||
        a.y + a.height <= b.y ||
        b.y + b.height <= a.y;
      assert.ok(apart, `${name} @${size.width}: two buttons overlap`);
    }
  }
  await page.screenshot({
    path: join(ARTIFACTS, `${name}-${size.width}x${size.height}.png`),
    fullPage: true,
  });
}

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;
