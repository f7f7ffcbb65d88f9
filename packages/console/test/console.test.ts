// The web console in Debian's Chromium (playwright-core), against a real Keyward server on SQLite
// that serves the console's build: a member signs in, creates a key, reads its one-time secret
// from the page and calls the API with it, rotates it, revokes it and sees it refused, and sees
// the usage and the refusals on the key's page; an admin disables the account and its keys stop
// working, and the audit log shows each step. Security: the CSRF token, text rendering of hostile
// names, the CSP. Accessibility: axe-core finds no serious or critical violation on the main
// pages. Screenshots of each page go to a temporary directory (printed).
//
// The steps share one browser and one server and run in order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const SECRET = /kw_(?:sk|key|at|st|ss)_[0-9A-Za-z]{40,}/;
const XSS_NAME = '<img src=x onerror=alert(1)>';
const PASSWORD = 'correct horse battery';
const system = { type: 'system' as const };

let t: TestServer;
let profile: string;
let shots: string;
let context: BrowserContext;
let page: Page;
let memberId: string;
/** Problems the page reported: CSP violations, uncaught errors, dialogs (an injected alert()). */
const problems: string[] = [];

/** The story's key: its id and the secret read from the page. */
const key = { id: '', secret: '', token: '' };
/** A second key of the member, for the account's disabling. */
const other = { id: '', secret: '' };
/** Whether the server has the usage and refusal endpoints of keys. */
let usageApi = false;

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function whoami(id: string, secret: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: basic(id, secret) } });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code };
}

/** No serious or critical axe-core violation on the page as it is now. */
async function accessible(what: string): Promise<void> {
  // The WCAG 2.1 A and AA rules (axe's other rules are best practices).
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${what}: ${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => `${n.html.slice(0, 120)} ${n.failureSummary ?? ''}`).join(' | ')}`,
    );
  expect(bad).toEqual([]);
}

async function shot(name: string): Promise<void> {
  // caret: 'initial': hiding it would inject a <style> of Playwright's own, which the CSP refuses.
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true, caret: 'initial' });
}

async function signIn(email: string): Promise<void> {
  await page.goto(`${t.url}/console/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').waitFor();
}

async function signOut(): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Keyward' }).waitFor();
}

/** Writes the batched usage counts now (the test server has no flush timer). */
async function flush(): Promise<void> {
  const { store } = t.server.context;
  await Promise.all([store.usage.flush(), store.outcomes.flush()]);
}

/** The console's cookies, as a Cookie header, for calls made outside the page. */
async function cookieHeader(): Promise<string> {
  return (await context.cookies(t.url)).map((c) => `${c.name}=${c.value}`).join('; ');
}

beforeAll(async () => {
  t = await startTestServer('sqlite');
  const { store } = t.server.context;
  const made = await store.accounts.create({ email: 'root@example.com', password: PASSWORD, role: 'admin' }, system);
  const member = await store.accounts.create({ email: 'ada@example.com', password: PASSWORD }, system);
  if (!made.ok || !member.ok) throw new Error('accounts not made');
  memberId = member.value.id;
  // The usage endpoints of keys answer 404 key_not_found for an unknown key; without them, the
  // route itself is unknown (404 not_found).
  const session = await store.sessions.create({ accountId: memberId, clientIp: '127.0.0.1' });
  if (!session.ok) throw new Error('session not made');
  const probe = await fetch(`${t.url}/v1/keys/kw_kid_0/usage?window=24h`, {
    headers: { authorization: `Bearer ${session.value.token}` },
  });
  const probed = (await probe.json()) as { error?: { code: string } };
  usageApi = probed.error?.code !== 'not_found';
  await store.sessions.revoke(session.value.session.id);
  if (!usageApi) console.info('the key usage endpoints are not on this server: chart and refusal checks are skipped');

  profile = mkdtempSync(join(tmpdir(), 'keyward-chromium-'));
  shots = mkdtempSync(join(tmpdir(), 'keyward-console-shots-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
    // The console honours it: no transitions to wait for.
    reducedMotion: 'reduce',
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  // Each CSP violation, with what was blocked (the browser's console line does not say).
  // (Scripts for the page are text: this project's type-check has no DOM library.)
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => {
      const target = e.target instanceof Element ? e.target.outerHTML.slice(0, 300).replace(/\\s+/g, ' ') : String(e.target);
      console.error('CSP violation: ' + e.violatedDirective + ' ' + e.sample + ' at ' + target);
    });`,
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && message.text().startsWith('CSP violation')) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await t?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  if (shots !== undefined) console.info(`console screenshots: ${shots}`);
});

describe('the web console', () => {
  it('is served with a strict Content-Security-Policy, on the page and its files', async () => {
    const res = await fetch(`${t.url}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    const html = await res.text();
    expect(html).toContain(`content="${nonce}"`);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    // A fresh nonce on each load.
    const again = await fetch(`${t.url}/console/keys`);
    expect(again.headers.get('content-security-policy')).not.toBe(csp);
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const script = await fetch(`${t.url}${asset}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-security-policy')).toContain("default-src 'none'");
    const redirect = await fetch(`${t.url}/console`, { redirect: 'manual' });
    expect(redirect.headers.get('location')).toBe('/console/');
  });

  it('signs in with a cookie session (HttpOnly, SameSite=Strict) and shows the empty state', async () => {
    await page.goto(`${t.url}/console/`);
    await page.getByRole('heading', { name: 'Sign in to Keyward' }).waitFor();
    await accessible('sign-in page');
    await shot('01-sign-in');
    // A wrong password: the page says what to do.
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel(/^Password/).fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The email or password is wrong').waitFor();

    await signIn('ada@example.com');
    const cookies = await context.cookies(t.url);
    const session = cookies.find((c) => c.name === 'keyward_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    expect(cookies.find((c) => c.name === 'keyward_csrf')?.httpOnly).toBe(true);
    expect(await page.evaluate('document.cookie')).toBe(''); // no script reads them
    await page.getByText('No API keys yet').waitFor();
  });

  it('creates a key and shows its secret once, with snippets; the secret works', async () => {
    await page.getByRole('button', { name: 'Create key', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('orders-service');
    await dialog.getByLabel('Scopes').fill('read:orders');
    await dialog.getByLabel('Scopes').press('Enter');
    await dialog.getByLabel('Rate limit (requests)').fill('100');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    await page.getByText('You will not see this again').waitFor();
    key.id = (await page.getByTestId('issued-key-id').textContent()) ?? '';
    key.secret = (await page.getByTestId('issued-secret').textContent()) ?? '';
    key.token = (await page.getByTestId('issued-token').textContent()) ?? '';
    expect(key.id).toMatch(/^kw_kid_/);
    expect(key.secret).toMatch(/^kw_sk_/);
    expect(key.token).toMatch(/^kw_key_/);
    // The snippets carry the key.
    expect(await page.getByTestId('snippet-basic-sh').textContent()).toContain(`${key.id}:${key.secret}`);
    await page.getByRole('tab', { name: 'oauth1' }).click();
    expect(await page.getByTestId('snippet-oauth1-python').textContent()).toContain('OAuth1Session');
    await accessible('new key dialog');
    await shot('02-new-key');
    await page.getByRole('button', { name: 'I have copied the secret' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await shot('03-keys');

    expect(await whoami(key.id, key.secret)).toEqual({ status: 200, code: undefined });
    const bearer = await fetch(`${t.url}/v1/whoami`, { headers: { authorization: `Bearer ${key.token}` } });
    expect(bearer.status).toBe(200);
    // A refused call: a wrong secret for this key.
    expect((await whoami(key.id, `kw_sk_${'A'.repeat(43)}`)).status).toBe(401);
  });

  it('renders a hostile key name as text', async () => {
    await page.getByRole('button', { name: 'Create key', exact: true }).click();
    await page.getByRole('dialog').getByLabel('Name').fill(XSS_NAME);
    await page.getByRole('dialog').getByRole('button', { name: 'Create key' }).click();
    await page.getByText('You will not see this again').waitFor();
    other.id = (await page.getByTestId('issued-key-id').textContent()) ?? '';
    other.secret = (await page.getByTestId('issued-secret').textContent()) ?? '';
    await page.getByRole('button', { name: 'I have copied the secret' }).click();
    await page.getByRole('link', { name: XSS_NAME }).waitFor();
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(problems.filter((p) => p.startsWith('dialog'))).toEqual([]);
    expect((await whoami(other.id, other.secret)).status).toBe(200);
    await accessible('keys page');
  });

  it('refuses a state-changing call without the CSRF token, from the page and from outside', async () => {
    const fromPage = await page.evaluate(async () => {
      const res = await fetch('/v1/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'forged' }),
      });
      return { status: res.status, body: (await res.json()) as { error: { code: string } } };
    });
    expect(fromPage.status).toBe(403);
    expect(fromPage.body.error.code).toBe('csrf_token_invalid');
    const cookie = await cookieHeader();
    const forged = await fetch(`${t.url}/v1/keys/${key.id}`, {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': 'nope-nope' },
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('csrf_token_invalid');
    // A login posted from another site.
    const crossSite = await fetch(`${t.url}/v1/console/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
      body: JSON.stringify({ email: 'ada@example.com', password: PASSWORD }),
    });
    expect(crossSite.status).toBe(403);
    expect((await whoami(key.id, key.secret)).status).toBe(200); // nothing happened
    const keys = await page.evaluate(async () => (await fetch('/v1/keys')).status);
    expect(keys).toBe(403); // reads too: the cookie alone is no credential
  });

  it("shows the key's usage per hour, by method and outcome", async () => {
    await flush();
    await page.getByRole('link', { name: 'orders-service' }).click();
    await page.getByTestId('key-name').waitFor();
    if (!usageApi) {
      console.info('skipped: no usage endpoint on this server (GET /v1/keys/{id}/usage)');
      return;
    }
    const chart = page.getByTestId('usage-chart');
    await chart.locator('.recharts-bar-rectangle path').first().waitFor();
    expect(await chart.locator('.recharts-bar-rectangle path').count()).toBeGreaterThan(0);
    await page.getByText('Last 7 days').click();
    await chart.locator('.recharts-bar-rectangle path').first().waitFor();
    await page.getByText('Last 24 hours').click();
  });

  it('rotates the key: the new secret works, the old one is refused', async () => {
    await page.getByRole('button', { name: 'Rotate' }).click();
    await page.getByLabel('Grace period (minutes)').fill('0');
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
    await page.getByText('You will not see this again').waitFor();
    const secret = (await page.getByTestId('issued-secret').textContent()) ?? '';
    expect(secret).toMatch(/^kw_sk_/);
    expect(secret).not.toBe(key.secret);
    await page.getByRole('button', { name: 'I have copied the secret' }).click();
    expect((await whoami(key.id, key.secret)).status).toBe(401);
    expect((await whoami(key.id, secret)).status).toBe(200);
    key.secret = secret;
  });

  it('revokes the key after confirmation; the key is refused and the refusal shows on its page', async () => {
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('button', { name: 'Revoke the key' }).click();
    await page.getByTestId('key-status').getByText('revoked').waitFor();
    expect(await whoami(key.id, key.secret)).toEqual({ status: 401, code: 'key_revoked' });
    if (!usageApi) {
      console.info('skipped: no refusals endpoint on this server (GET /v1/keys/{id}/refusals)');
      return;
    }
    await flush();
    await page.reload();
    const table = page.getByTestId('refusals-table');
    await table.getByText('key_revoked').first().waitFor();
    expect(await table.getByText('127.0.0.1').count()).toBeGreaterThan(0);
    await accessible('key page with refusals');
    await shot('04-key-usage');
  });

  it('lists my sessions, ends the others, and signs out', async () => {
    // A second session of the account, as another device would have.
    const elsewhere = await t.server.context.store.sessions.create({ accountId: memberId, clientIp: '127.0.0.1' });
    if (!elsewhere.ok) throw new Error('session not made');
    await page.getByRole('link', { name: 'Sessions and password' }).click();
    await page.getByText('this browser').waitFor();
    expect(await page.getByRole('button', { name: 'End session' }).count()).toBe(1);
    await accessible('sessions page');
    await shot('05-sessions');
    // On a phone: the menu folds behind a button, and opens.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'Show the menu' }).click();
    await page.getByRole('link', { name: 'My API keys' }).waitFor();
    await shot('05-sessions-phone');
    await page.getByRole('button', { name: 'Show the menu' }).click();
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('button', { name: 'End all other sessions' }).click();
    await page.getByRole('button', { name: 'End other sessions' }).click();
    await page.getByText('1 session(s) ended.').waitFor();
    const cookie = await cookieHeader();
    await signOut();
    // The session is over on the server too, not only forgotten by the page.
    const after = await fetch(`${t.url}/v1/console/session`, { headers: { cookie } });
    expect(after.status).toBe(401);
  });

  it('lets an admin disable the account: its keys stop working; the audit log shows each step', async () => {
    await signIn('root@example.com');
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByLabel('Search accounts').fill('ada');
    await page.getByTestId('account-row').filter({ hasText: 'ada@example.com' }).waitFor();
    await expect.poll(() => page.getByTestId('account-row').count()).toBe(1);
    await accessible('accounts page');
    await page.getByRole('link', { name: 'ada@example.com' }).click();
    await page.getByRole('heading', { name: /Keys of ada@example.com/ }).waitFor();
    await page.getByTestId('key-link').first().waitFor();
    await shot('06-accounts');
    await page.getByRole('button', { name: 'Disable' }).first().click();
    await page.getByRole('button', { name: 'Disable account' }).click();
    await page
      .getByRole('heading', { name: /Keys of ada@example.com/ })
      .getByText('disabled')
      .waitFor();
    expect((await whoami(other.id, other.secret)).status).toBe(401);

    await page.getByRole('link', { name: 'Audit log' }).click();
    const table = page.getByTestId('audit-table');
    await table.waitFor();
    const text = (await table.textContent()) ?? '';
    for (const action of ['session.create', 'key.create', 'key.rotate', 'key.revoke', 'session.revoke']) {
      expect(text).toContain(action);
    }
    expect(text).toMatch(/account\.(disable|status)/);
    expect(text).not.toMatch(SECRET);
    await accessible('audit log');
    await shot('07-audit');
    // A filter: only key events.
    await page.getByLabel('Action', { exact: true }).first().click();
    await page.getByRole('option', { name: 'Keys (key.*)' }).click();
    await expect
      .poll(async () => (await page.getByTestId('audit-row').allTextContents()).every((row) => row.includes('key.')))
      .toBe(true);
  });

  it('shows the overall usage and refusal charts to an admin, in light and dark', async () => {
    await flush();
    await page.getByRole('link', { name: 'Usage and refusals' }).click();
    await page.getByRole('heading', { name: 'Usage and refusals' }).waitFor();
    if (!usageApi) {
      console.info('skipped: no admin usage endpoint on this server (GET /v1/admin/usage)');
      return;
    }
    await page.getByTestId('usage-chart').locator('.recharts-bar-rectangle path').first().waitFor();
    await page.getByTestId('refusal-codes-chart').locator('.recharts-bar-rectangle path').first().waitFor();
    await accessible('usage page');
    await shot('08-usage');
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await page.getByRole('button', { name: 'Switch to light theme' }).waitFor();
    await accessible('usage page, dark');
    await shot('09-usage-dark');
  });

  it('reported no CSP violation, page error or dialog, and logged no secret', () => {
    expect(problems).toEqual([]);
    expect(t.logs.join('\n')).not.toMatch(SECRET);
  });
});
