// Replay protection survives a crash (design: "no request signed before a restart is accepted
// after it unless its nonce is known to be unused"), on the embedded SQLite setup, whose nonces
// live in memory behind a durable lease (src/state/nonces.ts, EmbeddedNonceStore).
//
// A real server (the BUILT one, test/support/replay-server.mjs) is loaded with OAuth 1.0a and
// signed-session requests, each with its own nonce, some stamped ahead of the server's clock (a
// client clock that runs fast: those nonces are written to the database), and killed with
// SIGKILL while requests are in flight. Restarted on the same data directory, it must refuse
// every request it accepted before the kill, and accept freshly signed ones. Twice in a row, so
// that the second life's own crash is covered too.
//
// Run after `tsc -b packages/server` (npm test builds first).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { signOAuth1 } from '@keyward/core';
import { afterAll, describe, expect, it } from 'vitest';

const CHILD = new URL('./support/replay-server.mjs', import.meta.url).pathname;
const PUBLIC_URL = 'http://keyward.test';
const PASSWORD = 'a long passphrase nobody guesses';
/** Requests accepted in a life before it is killed. */
const ACCEPTED_BEFORE_KILL = 400;
/** Concurrent request loops: requests are always in flight when the kill comes. */
const LOOPS = 16;
/** Stamped this far ahead of the clock: past the store's lease, so written to the database. */
const AHEAD_SECONDS = 60;

const dirs: string[] = [];
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Life {
  readonly child: ChildProcess;
  readonly url: string;
  stderr(): string;
}

async function start(dataDir: string): Promise<Life> {
  const child = spawn(process.execPath, [CHILD, dataDir, PUBLIC_URL], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${signal ?? code}) before it was ready: ${stderr}`));
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /^ready (\d+)$/.exec(line);
      if (match === null) return;
      clearTimeout(timer);
      resolve(Number(match[1]));
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, stderr: () => stderr };
}

async function kill(life: Life): Promise<void> {
  if (life.child.exitCode !== null || life.child.signalCode !== null) return;
  const exited = new Promise((resolve) => life.child.once('exit', resolve));
  life.child.kill('SIGKILL');
  await exited;
}

// biome-ignore lint/suspicious/noExplicitAny: the test reads the fields it asked for.
type Json = any;

async function json(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Json> {
  const response = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const out = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(out)}`);
  return out;
}

interface Credentials {
  readonly key: { readonly id: string; readonly secret: string };
  readonly session: { readonly accountId: string; readonly token: string; readonly secret: string };
}

let counter = 0;
/** A signed `GET /v1/whoami`: 2-legged with the key, or as the signed session; stamped `ahead` s late. */
function sign(creds: Credentials, kind: 'oauth1' | 'signed-session', ahead: number): string {
  const common = {
    method: 'GET',
    url: `${PUBLIC_URL}/v1/whoami`,
    signatureMethod: 'HMAC-SHA256' as const,
    nonce: `crash-${process.pid}-${++counter}`,
    timestamp: Math.floor(Date.now() / 1000) + ahead,
  };
  return kind === 'oauth1'
    ? signOAuth1({ ...common, consumerKey: creds.key.id, consumerSecret: creds.key.secret }).authorization
    : signOAuth1({
        ...common,
        consumerKey: creds.session.accountId,
        consumerSecret: '',
        token: creds.session.token,
        tokenSecret: creds.session.secret,
      }).authorization;
}

const get = (url: string, authorization: string) =>
  fetch(`${url}/v1/whoami`, { headers: { authorization } }).then(async (r) => ({
    status: r.status,
    body: await r.text(),
  }));

/**
 * Signed requests from LOOPS loops until ACCEPTED_BEFORE_KILL were accepted, then SIGKILL with
 * the loops still sending. Resolves the Authorization headers answered 200.
 */
async function loadAndKill(life: Life, creds: Credentials): Promise<string[]> {
  const accepted: string[] = [];
  let killed = false;
  let failure: string | undefined;
  let reached: () => void = () => {};
  const enough = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const loop = async (n: number) => {
    for (let i = 0; !killed && i < 10_000; i++) {
      const kind = (i + n) % 2 === 0 ? 'oauth1' : 'signed-session';
      // One in four stamped ahead of the clock.
      const authorization = sign(creds, kind, (i + n) % 4 === 1 ? AHEAD_SECONDS : 0);
      try {
        const answer = await get(life.url, authorization);
        if (answer.status === 200) accepted.push(authorization);
        else if (!killed) failure ??= `${answer.status} ${answer.body}`;
      } catch {
        // The kill: connections reset.
      }
      if (accepted.length >= ACCEPTED_BEFORE_KILL) reached();
    }
    reached();
  };
  const loops = Array.from({ length: LOOPS }, (_, n) => loop(n));
  await enough;
  killed = true;
  await kill(life);
  await Promise.all(loops);
  expect(failure, 'every request before the kill is accepted').toBeUndefined();
  return accepted;
}

describe('replay protection across a crash (embedded SQLite)', () => {
  it('refuses every request accepted before a SIGKILL, after the restart, and accepts new ones', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyward-replay-'));
    dirs.push(dataDir);
    let life = await start(dataDir);
    const email = 'replay@example.com';
    await json(life.url, '/v1/accounts', { email, password: PASSWORD });
    const login = await json(life.url, '/v1/sessions', { email, password: PASSWORD });
    const key = await json(life.url, '/v1/keys', { name: 'replay' }, { authorization: `Bearer ${login.token}` });
    const signed = await json(life.url, '/v1/sessions', { email, password: PASSWORD, signed: true });
    const creds: Credentials = {
      key: { id: key.id, secret: key.secret },
      session: { accountId: signed.accountId, token: signed.token, secret: signed.secret },
    };

    const accepted: string[] = [];
    for (let kill = 1; kill <= 2; kill++) {
      accepted.push(...(await loadAndKill(life, creds)));
      life = await start(dataDir);
      const refusals: Record<string, number> = {};
      for (const authorization of accepted) {
        const answer = await get(life.url, authorization);
        expect(answer.status, `a replay after kill ${kill} was answered ${answer.body}`).toBe(401);
        const code = (JSON.parse(answer.body) as { error: { code: string } }).error.code;
        refusals[code] = (refusals[code] ?? 0) + 1;
      }
      // Stamped before the restart: refused by the floor; stamped ahead: their nonces were written.
      expect(Object.keys(refusals).sort()).toEqual(['nonce_reused', 'timestamp_refused']);
      expect(refusals.nonce_reused).toBeGreaterThan(0);
      for (const kind of ['oauth1', 'signed-session'] as const) {
        for (const ahead of [0, AHEAD_SECONDS]) {
          const answer = await get(life.url, sign(creds, kind, ahead));
          expect(answer.status, `a fresh ${kind} request after kill ${kill}: ${answer.body}`).toBe(200);
        }
      }
    }
    await kill(life);
    expect(accepted.length).toBeGreaterThanOrEqual(2 * ACCEPTED_BEFORE_KILL);
  }, 120_000);
});
