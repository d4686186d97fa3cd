// The dashboard in a real browser, on a real two-path connection: the
// `mptcp dashboard` command runs inside the lab's client namespace while an
// MPTCP transfer runs there, and Debian's chromium (driven by puppeteer-core)
// runs in the same namespace. The test looks at what a user sees: the
// connection by its token, both subflows with their addresses, charts that
// grow every second, and, when path 2 is cut and withdrawn, its subflow shown
// closed and the events on the timeline. It saves a screenshot
// (DASHBOARD_SCREENSHOT, default $TMPDIR/mptcp-dashboard.png).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterEach, describe, expect, it } from 'vitest';
import { externalEnv } from '../helpers/net';
import { Lab, labUnavailableReason } from './lab';

const CHROMIUM = '/usr/bin/chromium';
const reason = labUnavailableReason() ?? (fs.existsSync(CHROMIUM) ? null : `no ${CHROMIUM} (apt-get install chromium)`);
if (reason) console.log(`dashboard browser test skipped: ${reason}`);

const bin = path.resolve(__dirname, '..', '..', 'bin', 'mptcp.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let lab: Lab | null = null;
let browser: Browser | null = null;
let wrapper: string | null = null;
afterEach(async () => {
  await browser?.close().catch(() => {});
  browser = null;
  await lab?.destroy();
  lab = null;
  if (wrapper) fs.rmSync(path.dirname(wrapper), { recursive: true, force: true });
  wrapper = null;
});

/** Chromium inside a namespace: puppeteer starts this script, which becomes the browser (same pid); they talk over pipes. */
async function launchIn(ns: string): Promise<Browser> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mptcp-chromium-'));
  wrapper = path.join(dir, 'chromium');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  return puppeteer.launch({
    executablePath: wrapper,
    // chromium runs without an ASan run's sanitizer preload (meant for the addon).
    env: externalEnv(),
    headless: true,
    pipe: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    defaultViewport: { width: 1280, height: 900 },
  });
}

async function open(page: Page, url: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await page.goto(url, { waitUntil: 'load', timeout: 5000 });
      return;
    } catch (err) {
      if (i >= 40) throw err;
      await sleep(250); // the dashboard is still starting
    }
  }
}

const points = (page: Page): Promise<number> => page.$eval('#throughput-chart', (e) => Number((e as HTMLElement).dataset.points));

describe.skipIf(reason !== null)('dashboard in a browser', () => {
  it('shows a two-path connection live: both subflows, growing charts, and the failover when path 2 is cut', async () => {
    lab = await Lab.create({ paths: [{ rateMbit: 20 }, { rateMbit: 20 }] });
    const [p1, p2] = lab.paths;
    const [server, client] = await Promise.all([lab.agent('server'), lab.agent('client')]);
    const { port } = await server.request<{ port: number }>({ cmd: 'serve', kind: 'lib' });
    // The dashboard first, so that its timeline sees the connection's events from the start.
    const dash = lab.run('client', bin, ['dashboard', '--port', '8080']);
    browser = await launchIn(lab.client);
    const page = await browser.newPage();
    await open(page, 'http://127.0.0.1:8080/');
    expect(await page.title()).toBe('MPTCP dashboard');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });

    const { conn } = await client.request<{ conn: number }>({ cmd: 'connect', kind: 'lib', host: p1.serverAddress, port });
    let token = '';
    for (let i = 0; i < 100; i++) {
      const r = await client.request<{ info: { token: number } | null; subflows: { state: string }[] }>({ cmd: 'info', conn });
      if (r.info && r.subflows.filter((s) => s.state === 'ESTABLISHED').length === 2) {
        token = r.info.token.toString(16);
        break;
      }
      await sleep(50);
    }
    expect(token).not.toBe('');
    const sending = client.request({ cmd: 'send', conn, seconds: 30 }, 90_000);
    sending.catch(() => {});

    // The connection, by its token as ss -M prints it.
    const row = await page.waitForSelector(`#connections tr[data-token="${token}"]`, { timeout: 10_000 });
    const cells = await row!.$$eval('td', (tds) => tds.map((td) => td.textContent));
    expect(cells).toEqual([token, expect.stringContaining(p1.clientAddress), `${p1.serverAddress}:${port}`, 'ESTABLISHED', '2']);
    await row!.click();

    // Both subflows, with their addresses.
    await page.waitForFunction(() => document.querySelectorAll('#subflows tbody tr[data-state="ESTABLISHED"]').length === 2, { timeout: 10_000 });
    const subflows = await page.$$eval('#subflows tbody tr', (trs) => trs.map((tr) => `${tr.getAttribute('data-local')}>${tr.getAttribute('data-remote')}`).sort());
    expect(subflows).toEqual([`${p1.clientAddress}>${p1.serverAddress}`, `${p2.clientAddress}>${p2.serverAddress}`]);

    // The charts grow, one series per subflow, and carry data.
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('#throughput-chart')!.dataset.points) >= 3, { timeout: 10_000 });
    const before = await points(page);
    await sleep(3000);
    expect(await points(page)).toBeGreaterThanOrEqual(before + 2);
    expect(await page.$eval('#rtt-chart', (e) => (e as HTMLElement).dataset.series)).toBe('2');
    expect(await page.$$eval('#throughput-chart canvas', (c) => c.length)).toBe(1);
    const rates = await page.$$eval('#subflows tbody tr td:last-child', (tds) => tds.map((td) => parseFloat(td.textContent ?? '')));
    expect(rates.every((r) => r > 1)).toBe(true); // both paths carry the transfer

    // The path manager's view: the client's limits.
    expect(await page.$eval('#limits', (e) => e.textContent)).toBe('limits: subflows 2, add_addr_accepted 2');

    // Cut path 2: its subflow is shown closed, and the timeline has the events.
    await lab.setLink(2, false);
    await sleep(300);
    await lab.withdraw(2);
    await page.waitForSelector(`#subflows tr[data-local="${p2.clientAddress}"][data-state="closed"]`, { timeout: 15_000 });
    await page.waitForFunction((addr: string) => [...document.querySelectorAll('#timeline li[data-type="subflowClosed"]')].some((li) => li.textContent!.includes(addr)), { timeout: 15_000 }, p2.clientAddress);
    await page.waitForSelector('#timeline li[data-type="removed"]', { timeout: 15_000 });
    const types = await page.$$eval('#timeline li', (lis) => lis.map((li) => li.getAttribute('data-type')));
    expect(types).toEqual(expect.arrayContaining(['created', 'established', 'announced', 'subflowEstablished']));
    expect(types.filter((t) => t === 'established')).toHaveLength(1); // choosing the connection replays nothing twice
    const state1 = await page.$eval(`#subflows tr[data-local="${p1.clientAddress}"]`, (tr) => tr.getAttribute('data-state'));
    expect(state1).toBe('ESTABLISHED');
    await sleep(4000); // a few seconds of path 1 alone on the chart
    const shot = process.env.DASHBOARD_SCREENSHOT ?? path.join(os.tmpdir(), 'mptcp-dashboard.png');
    await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);

    // A link with the token (what npm run demo -- --dashboard prints) opens on the connection.
    const linked = await browser.newPage();
    await open(linked, `http://127.0.0.1:8080/#token=${token}`);
    await linked.waitForSelector(`#connections tr.selected[data-token="${token}"]`, { timeout: 10_000 });
    await linked.waitForSelector(`#subflows tr[data-local="${p1.clientAddress}"][data-state="ESTABLISHED"]`, { timeout: 10_000 });
    expect(await linked.$eval('#detail-token', (e) => e.textContent)).toBe(token);

    await browser.close();
    browser = null;
    await dash.stop();
  }, 90_000);
});
