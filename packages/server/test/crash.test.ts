// Crash safety of the SQLite store: a child process (test/support/crash-child.mjs, over the BUILT
// store in dist/) creates, rotates and revokes keys and issues access tokens in a loop, and is
// killed with SIGKILL at random moments, again and again, on the same data directory. After every
// kill the store must open (migrations are idempotent), every key must be either fully there and
// usable or absent, and every access token reported issued must be stored (they are committed
// without a sync of the disk, which survives the death of the process):
//
// - every change the child journaled as done (it journals after the store reported success) is in
//   the database: created keys verify, rotated keys verify with their newest token, revoked keys
//   are refused with key_revoked;
// - every key row is complete: it has a secret, its sealed secrets open and verify, it has exactly
//   one key.create audit event, and its audit trail matches its state; no secret, audit event or
//   foreign key points at a missing key; SQLite's integrity check passes;
// - the only changes the journal does not know about are the one operation each kill interrupted.
//
// A second test kills first starts on fresh directories at chosen points of the migration (by the
// number of frames in the WAL): a store whose first start was killed must open all the same.
//
// Time: ~20 s + ~5 s on a 2-core machine, almost all of it the children's imports (~0.8 s each),
// which is why the next child is started while the current one runs.
//
// Tokens are secrets: they stay in the journal, in a private temp directory; failures name key
// ids (public) and error codes only. Run after `tsc -b packages/server` (npm test builds first).
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { formatKeywardString, identify } from '@keyward/core';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/store/index.js';
import { MIGRATIONS, migrateToLatest } from '../src/store/migrations.js';

const CHILD = new URL('./support/crash-child.mjs', import.meta.url).pathname;
const BUILT_STORE = new URL('../dist/store/index.js', import.meta.url).pathname;

/** Kills in the main test, all on one data directory. */
const ROUNDS = 25;
/**
 * Lives killed while the store opens on the existing database (random 0-30 ms after `go`) rather
 * than in the loop. Not the first: kills during the first start (the migration, the keyring files)
 * have their own test below, so that this one keeps checking keys whatever that one finds.
 */
const STARTUP_KILLS = new Set([5, 10, 15, 20]);
/** Children started ahead, importing while the current one runs (imports take most of a second). */
const PREFETCH = 1;
/** Kills on fresh data directories during the very first start (migration, keyring generation). */
const FIRST_STARTS = 6;

const temps: string[] = [];
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-crash-'));
  temps.push(dir);
  return dir;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The child process

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface Child {
  readonly life: number;
  readonly process: ChildProcess;
  readonly exit: Promise<Exit>;
  stderr(): string;
  /** Resolves once the child printed `line`; rejects if it exits first or takes too long. */
  waitFor(line: string, timeoutMs: number): Promise<void>;
  /** Kills it with SIGKILL; true when it was still running and died of that signal. */
  kill(): Promise<boolean>;
}

function spawnChild(dataDir: string, journal: string, life: number): Child {
  const proc = spawn(process.execPath, [CHILD], {
    env: {
      ...process.env,
      KEYWARD_DATA_DIR: dataDir,
      KEYWARD_CRASH_JOURNAL: journal,
      KEYWARD_CRASH_LIFE: String(life),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(proc);
  const seen = new Set<string>();
  const waiters: { line: string; resolve: () => void }[] = [];
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  // The child reads stdin until `go`; an error on it (the child died) is reported through `exit`.
  proc.stdin?.on('error', () => {});
  if (proc.stdout !== null) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      seen.add(line);
      for (const w of waiters.filter((x) => x.line === line)) w.resolve();
    });
  }
  const exit = new Promise<Exit>((resolve) => {
    proc.once('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    });
  });
  return {
    life,
    process: proc,
    exit,
    stderr: () => stderr.trim(),
    waitFor(line, timeoutMs) {
      if (seen.has(line)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`life ${life}: no "${line}" within ${timeoutMs} ms; stderr: ${stderr.trim()}`)),
          timeoutMs,
        );
        waiters.push({
          line,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void exit.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`life ${life}: exited (${code ?? signal}) before "${line}"; stderr: ${stderr.trim()}`));
        });
      });
    },
    async kill() {
      const running = proc.exitCode === null && proc.signalCode === null;
      proc.kill('SIGKILL');
      const { signal } = await exit;
      return running && signal === 'SIGKILL';
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The journal (see crash-child.mjs for its format)

type InFlight = { op: 'create' } | { op: 'rotate'; id: string; grace: number } | { op: 'revoke'; id: string };

type Entry =
  | { t: 'boot'; life: number; pid: number }
  | { t: 'open' }
  | { t: 'ready' }
  | ({ t: 'begin' } & InFlight)
  | { t: 'tx' }
  | { t: 'create'; id: string; token: string }
  | { t: 'rotate'; id: string; token: string; grace: number }
  | { t: 'revoke'; id: string }
  | { t: 'token'; key: string; token: string };

interface LifeRecord {
  readonly life: number;
  reached: 'boot' | 'open' | 'ready';
  /** The operation the kill interrupted: begun, never reported done. */
  inFlight: InFlight | undefined;
  /** Whether that operation had reached its audit write (inside its transaction). */
  inTx: boolean;
  creates: number;
}

interface JournaledKey {
  /** `kw_kid_…`. */
  readonly id: string;
  readonly rawId: string;
  readonly life: number;
  /** Every token the key was given, oldest first, and whether it should still verify. */
  readonly tokens: { readonly token: string; valid: boolean }[];
  rotations: number;
  revoked: boolean;
  /** The key's interrupted rotation or revocation, if the kill hit one. */
  pending: InFlight | undefined;
}

interface Journal {
  readonly lives: Map<number, LifeRecord>;
  readonly keys: Map<string, JournaledKey>;
  /** Access tokens reported issued (`kw_at_…`), with the key they were issued for. */
  readonly tokens: { readonly key: string; readonly token: string; readonly life: number }[];
  readonly problems: string[];
  torn: number;
  creates: number;
  rotations: number;
  revocations: number;
}

function readJournal(path: string): Journal {
  const journal: Journal = {
    lives: new Map(),
    keys: new Map(),
    tokens: [],
    problems: [],
    torn: 0,
    creates: 0,
    rotations: 0,
    revocations: 0,
  };
  if (!existsSync(path)) return journal;
  let life: LifeRecord | undefined;
  const keyOf = (id: string): JournaledKey | undefined => {
    const key = journal.keys.get(id);
    if (key === undefined) journal.problems.push(`journal: ${id} changed before it was created`);
    return key;
  };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    let entry: Entry;
    try {
      entry = JSON.parse(line) as Entry;
    } catch {
      journal.torn++; // a line a kill cut short: whatever it recorded is treated as not journaled
      continue;
    }
    if (entry.t === 'boot') {
      life = { life: entry.life, reached: 'boot', inFlight: undefined, inTx: false, creates: 0 };
      journal.lives.set(entry.life, life);
      continue;
    }
    if (life === undefined) {
      journal.problems.push(`journal: "${entry.t}" before any boot`);
      continue;
    }
    switch (entry.t) {
      case 'open':
      case 'ready':
        life.reached = entry.t;
        break;
      case 'begin': {
        const { t: _, ...op } = entry;
        life.inFlight = op;
        life.inTx = false;
        break;
      }
      case 'tx':
        life.inTx = true;
        break;
      case 'create': {
        const parts = identify(entry.token);
        if (parts?.type !== 'api_key' || parts.id === undefined) {
          journal.problems.push(`journal: the token of ${entry.id} is not an API key token`);
        } else {
          journal.keys.set(entry.id, {
            id: entry.id,
            rawId: parts.id,
            life: life.life,
            tokens: [{ token: entry.token, valid: true }],
            rotations: 0,
            revoked: false,
            pending: undefined,
          });
        }
        journal.creates++;
        life.creates++;
        life.inFlight = undefined;
        break;
      }
      case 'rotate': {
        const key = keyOf(entry.id);
        if (key !== undefined) {
          if (entry.grace === 0) for (const t of key.tokens) t.valid = false;
          key.tokens.push({ token: entry.token, valid: true });
          key.rotations++;
        }
        journal.rotations++;
        life.inFlight = undefined;
        break;
      }
      case 'revoke': {
        const key = keyOf(entry.id);
        if (key !== undefined) key.revoked = true;
        journal.revocations++;
        life.inFlight = undefined;
        break;
      }
      case 'token':
        journal.tokens.push({ key: entry.key, token: entry.token, life: life.life });
        break;
    }
  }
  for (const l of journal.lives.values()) {
    if (l.inFlight !== undefined && l.inFlight.op !== 'create') {
      const key = journal.keys.get(l.inFlight.id);
      if (key !== undefined) key.pending = l.inFlight;
    }
  }
  return journal;
}

/** The life a key was created in, from its name (`crash L<life> <n>`). */
function lifeOfName(name: string): number | undefined {
  const match = /^crash L(\d+) \d+$/.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

// ---------------------------------------------------------------------------------------------
// The checks

interface KeyRow {
  readonly rawId: string;
  readonly id: string;
  readonly name: string;
  readonly status: string;
  readonly life: number | undefined;
}

interface Snapshot {
  readonly keys: Map<string, KeyRow>;
  /** Audit events of keys: `kw_kid_…` → action → count. */
  readonly events: Map<string, Map<string, number>>;
}

function eventCount(snapshot: Snapshot, id: string, action: string): number {
  return snapshot.events.get(id)?.get(action) ?? 0;
}

async function snapshotOf(store: Store): Promise<Snapshot> {
  const db = store.context.db;
  const keys = new Map<string, KeyRow>();
  for (const row of await db.selectFrom('api_keys').select(['id', 'name', 'status']).execute()) {
    const id = formatKeywardString('key_id', { id: row.id });
    keys.set(id, { rawId: row.id, id, name: row.name, status: row.status, life: lifeOfName(row.name) });
  }
  const events = new Map<string, Map<string, number>>();
  const rows = await db
    .selectFrom('audit_events')
    .select(['action', 'object_id'])
    .where('object_type', '=', 'key')
    .execute();
  for (const row of rows) {
    const id = row.object_id ?? '(null)';
    const actions = events.get(id) ?? new Map<string, number>();
    actions.set(row.action, (actions.get(row.action) ?? 0) + 1);
    events.set(id, actions);
  }
  return { keys, events };
}

/** The schema and the file: migrations are done and idempotent, SQLite finds nothing wrong. */
async function checkDatabase(store: Store, problems: string[]): Promise<void> {
  const db = store.context.db;
  const again = await migrateToLatest(db);
  if ((again.results ?? []).length !== 0) {
    problems.push(`migrations ran again: ${JSON.stringify(again.results?.map((r) => r.migrationName))}`);
  }
  const applied = await sql<{ name: string }>`select name from keyward_migrations order by name`.execute(db);
  const names = applied.rows.map((r) => r.name);
  if (JSON.stringify(names) !== JSON.stringify(Object.keys(MIGRATIONS).sort())) {
    problems.push(`applied migrations are ${JSON.stringify(names)}`);
  }
  const integrity = await sql<{ integrity_check: string }>`PRAGMA integrity_check`.execute(db);
  const verdict = integrity.rows.map((r) => r.integrity_check).join('; ');
  if (verdict !== 'ok') problems.push(`integrity_check: ${verdict}`);
  const foreign = await sql<Record<string, unknown>>`PRAGMA foreign_key_check`.execute(db);
  if (foreign.rows.length > 0) problems.push(`foreign_key_check: ${JSON.stringify(foreign.rows.slice(0, 5))}`);
  const orphans = await sql<{ n: number }>`
    select count(*) as n from key_secrets s where not exists (select 1 from api_keys k where k.id = s.key_id)`.execute(
    db,
  );
  if (orphans.rows[0]?.n !== 0) problems.push(`${orphans.rows[0]?.n} key_secrets rows have no key`);
  const bare = await sql<{ id: string }>`
    select id from api_keys k where not exists (select 1 from key_secrets s where s.key_id = k.id)`.execute(db);
  for (const row of bare.rows) problems.push(`key ${row.id} has no key_secrets row`);
}

/** Every key row against its audit trail, and every audit event of a key against the key rows. */
function checkAuditTrail(snapshot: Snapshot, problems: string[]): void {
  for (const key of snapshot.keys.values()) {
    const creates = eventCount(snapshot, key.id, 'key.create');
    if (creates !== 1) problems.push(`${key.id} has ${creates} key.create audit events`);
    const revokes = eventCount(snapshot, key.id, 'key.revoke');
    if (revokes !== (key.status === 'revoked' ? 1 : 0)) {
      problems.push(`${key.id} is ${key.status} with ${revokes} key.revoke audit events`);
    }
  }
  for (const [id, actions] of snapshot.events) {
    if (!snapshot.keys.has(id)) problems.push(`audit events ${JSON.stringify([...actions])} of a missing key ${id}`);
  }
}

/**
 * Every access token reported issued is stored, for its key, with its secret's hash: committed
 * without a sync of the disk, it must still survive the kill of the process.
 */
async function checkTokens(
  store: Store,
  journal: Journal,
  include: (life: number) => boolean,
  problems: string[],
): Promise<void> {
  for (const [index, { key, token, life }] of journal.tokens.entries()) {
    if (!include(life)) continue;
    const parts = identify(token);
    if (parts?.type !== 'access_token' || parts.id === undefined || parts.secret === undefined) {
      problems.push(`journal: token #${index} of ${key} is not an access token`);
      continue;
    }
    const stored = await store.tokens.lookup(parts.id);
    if (stored === undefined) problems.push(`token #${index} of ${key} was reported issued but is missing`);
    else if (formatKeywardString('key_id', { id: stored.keyId }) !== key)
      problems.push(`token #${index} of ${key} is stored for another key`);
    else if (stored.hash !== store.credentials.hashSecret(parts.secret))
      problems.push(`token #${index} of ${key} is stored with another secret`);
  }
}

/** Whether the kill's interrupted operation of `life` committed, judged from the database. */
function committed(life: LifeRecord, journal: Journal, snapshot: Snapshot): boolean {
  const op = life.inFlight;
  if (op === undefined) return false;
  if (op.op === 'create')
    return [...snapshot.keys.values()].some((k) => k.life === life.life && !journal.keys.has(k.id));
  const key = journal.keys.get(op.id);
  if (key === undefined) return false;
  if (op.op === 'rotate') return eventCount(snapshot, op.id, 'key.rotate') === key.rotations + 1;
  return !key.revoked && snapshot.keys.get(op.id)?.status === 'revoked';
}

/** The journal against the database: nothing reported done is lost, nothing else slipped in. */
function checkJournal(journal: Journal, snapshot: Snapshot, problems: string[]): void {
  problems.push(...journal.problems);
  for (const key of journal.keys.values()) {
    const row = snapshot.keys.get(key.id);
    if (row === undefined) {
      problems.push(`${key.id} (life ${key.life}) was reported created but is missing`);
      continue;
    }
    const rotations = eventCount(snapshot, key.id, 'key.rotate');
    const extra = rotations - key.rotations;
    if (!(extra === 0 || (extra === 1 && key.pending?.op === 'rotate'))) {
      problems.push(`${key.id} has ${rotations} key.rotate events; ${key.rotations} were reported`);
    }
    if (key.revoked && row.status !== 'revoked') problems.push(`${key.id} was reported revoked but is ${row.status}`);
    if (!key.revoked && row.status === 'revoked' && key.pending?.op !== 'revoke') {
      problems.push(`${key.id} is revoked but no revocation was reported or interrupted`);
    }
    if (row.status === 'disabled') problems.push(`${key.id} is disabled; nothing disabled it`);
  }
  const unjournaled = new Map<number, string[]>();
  for (const row of snapshot.keys.values()) {
    if (journal.keys.has(row.id)) continue;
    const life = row.life === undefined ? undefined : journal.lives.get(row.life);
    if (life?.inFlight?.op !== 'create') {
      problems.push(
        `${row.id} ("${row.name}") is in the database but its creation was neither reported nor interrupted`,
      );
      continue;
    }
    const ids = unjournaled.get(life.life) ?? [];
    ids.push(row.id);
    unjournaled.set(life.life, ids);
  }
  for (const [life, ids] of unjournaled) {
    if (ids.length > 1) problems.push(`life ${life} left ${ids.length} unreported keys: ${ids.join(', ')}`);
  }
}

/** Each key of `lives`, through the store's API: its secrets open and verify, its tokens behave. */
async function checkKeys(
  store: Store,
  journal: Journal,
  snapshot: Snapshot,
  inScope: (life: number | undefined) => boolean,
  problems: string[],
): Promise<number> {
  let checked = 0;
  for (const row of snapshot.keys.values()) {
    if (!inScope(row.life)) continue;
    checked++;
    const stateCode = row.status === 'revoked' ? 'key_revoked' : 'ok';
    const credential = await store.keys.credential(row.rawId);
    if (credential === undefined) {
      problems.push(`${row.id}: no credential`);
      continue;
    }
    let opened: string[];
    try {
      opened = store.keys.openSecrets(row.rawId, credential);
    } catch (error) {
      problems.push(`${row.id}: ${(error as Error).message}`);
      continue;
    }
    if (opened.length === 0 || opened.length !== credential.secrets.length) {
      problems.push(`${row.id}: ${credential.secrets.length} valid secrets, ${opened.length} opened`);
    }
    for (const secret of opened) {
      const parts = identify(secret);
      const outcome =
        parts?.type === 'key_secret' && parts.secret !== undefined
          ? await store.keys.verifySecret(row.rawId, parts.secret)
          : undefined;
      const code = outcome === undefined ? 'not a key secret' : outcome.ok ? 'ok' : outcome.code;
      if (code !== stateCode) problems.push(`${row.id}: a sealed secret opens but verifies as ${code}`);
    }

    const key = journal.keys.get(row.id);
    if (key === undefined) {
      if (credential.secrets.length !== 1)
        problems.push(`${row.id}: unreported key has ${credential.secrets.length} secrets`);
      continue;
    }
    // A rotation the kill interrupted and that committed: its grace applies to the journaled tokens.
    const rotatedAfter = key.pending?.op === 'rotate' && eventCount(snapshot, key.id, 'key.rotate') > key.rotations;
    const expireAll = rotatedAfter && key.pending?.op === 'rotate' && key.pending.grace === 0;
    const expected = key.tokens.filter((t) => t.valid && !expireAll).length + (rotatedAfter ? 1 : 0);
    if (credential.secrets.length !== expected) {
      problems.push(`${row.id}: ${credential.secrets.length} valid secrets, expected ${expected}`);
    }
    for (const [index, token] of key.tokens.entries()) {
      const parts = identify(token.token);
      if (parts?.type !== 'api_key' || parts.id !== row.rawId || parts.secret === undefined) {
        problems.push(`${row.id}: journaled token #${index} does not belong to it`);
        continue;
      }
      const outcome = await store.keys.verifySecret(parts.id, parts.secret);
      const code = outcome.ok ? 'ok' : outcome.code;
      const want = token.valid && !expireAll ? stateCode : 'key_unknown';
      if (code !== want) problems.push(`${row.id}: token #${index} of ${key.tokens.length} gives ${code}, not ${want}`);
    }
  }
  return checked;
}

/** Where the kill of `life` landed, as far as the journal and the database tell. */
function whereKilled(life: LifeRecord | undefined, journal: Journal, snapshot: Snapshot, problems: string[]): string {
  if (life === undefined) return 'before the child started on the store';
  if (life.reached === 'boot') return 'startup: opening the store (migrations, keyring)';
  if (life.reached === 'open') return 'startup: creating or finding the account';
  const op = life.inFlight;
  if (op === undefined) return 'loop: between operations';
  if (committed(life, journal, snapshot)) {
    if (!life.inTx) problems.push(`life ${life.life}: ${op.op} committed without reaching its audit write`);
    return `${op.op}: committed, not yet journaled`;
  }
  return life.inTx
    ? `${op.op}: inside the transaction, rolled back`
    : `${op.op}: started, not committed (before its audit write)`;
}

function count(tally: Map<string, number>, what: string): void {
  tally.set(what, (tally.get(what) ?? 0) + 1);
}

function describeTally(tally: Map<string, number>): string {
  return [...tally]
    .sort((a, b) => b[1] - a[1])
    .map(([what, n]) => `  ${String(n).padStart(3)}  ${what}`)
    .join('\n');
}

/** Frames in the data directory's WAL (0 while there is none). */
function walFrames(dataDir: string): number {
  try {
    return Math.max(0, Math.floor((statSync(join(dataDir, 'keyward.db-wal')).size - 32) / (4096 + 24)));
  } catch {
    return 0;
  }
}

/**
 * Blocks (polling every 0.2 ms) until the WAL holds `target` frames or `timeoutMs` passed, and
 * returns the frame count seen last: a kill point in the child's first start that does not depend
 * on how fast this machine is.
 */
function waitForWalFrames(dataDir: string, target: number, timeoutMs: number): number {
  const tick = new Int32Array(new SharedArrayBuffer(4));
  const deadline = performance.now() + timeoutMs;
  let frames = walFrames(dataDir);
  while (frames < target && performance.now() < deadline) {
    Atomics.wait(tick, 0, 0, 0.2);
    frames = walFrames(dataDir);
  }
  return frames;
}

/**
 * How far a killed first start got, read from a copy of the files (so the store later opens exactly
 * what the kill left). A migration not recorded as done must have left none of its tables behind.
 */
function firstStartStage(dataDir: string, scratch: string, problems: string[], run: number): string {
  const file = join(dataDir, 'keyward.db');
  if (!existsSync(file)) return 'no database file yet';
  mkdirSync(scratch, { recursive: true });
  const copy = join(scratch, 'keyward.db');
  copyFileSync(file, copy);
  if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
  const raw = new BetterSqlite3(copy);
  try {
    const tables = new Set(
      raw
        .prepare("select name from sqlite_master where type = 'table'")
        .all()
        .map((r) => (r as { name: string }).name),
    );
    const migrated =
      tables.has('keyward_migrations') &&
      raw.prepare("select 1 from keyward_migrations where name = '0001_initial'").get() !== undefined;
    if (!migrated) {
      const leftovers = [...tables].filter((t) => !t.startsWith('keyward_migrations')).sort();
      if (leftovers.length > 0) {
        problems.push(
          `run ${run}: the kill left half a migration: tables ${leftovers.join(', ')} exist but 0001_initial is not recorded`,
        );
        return 'inside the first migration';
      }
      return 'database file created, migration not started';
    }
    if (raw.prepare("select 1 from keyward_meta where name = 'keyring_check'").get() === undefined) {
      return 'migrated, keyring not recorded';
    }
    if (raw.prepare('select 1 from accounts').get() === undefined) return 'keyring recorded, no account yet';
    return 'account created';
  } finally {
    raw.close();
  }
}

// ---------------------------------------------------------------------------------------------

describe('crash safety (SQLite, SIGKILL)', () => {
  it('the built store the child runs exists', () => {
    expect(existsSync(BUILT_STORE), `build first: npx tsc -b packages/server (${BUILT_STORE})`).toBe(true);
  });

  it(`keeps every key whole across ${ROUNDS} kills of a process writing keys`, { timeout: 90_000 }, async () => {
    const started = performance.now();
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const journalPath = join(dir, 'journal');
    const problems: string[] = [];
    const seen = new Set<string>();
    const where = new Map<string, number>();
    let kills = 0;
    let loopKills = 0;
    let roundsWithCreates = 0;
    let checkedKeys = 0;
    let checkMs = 0;

    // The child being killed and, behind it, PREFETCH more already importing.
    const queue: Child[] = [];
    let spawned = 0;

    for (let round = 0; round < ROUNDS; round++) {
      while (queue.length <= PREFETCH && spawned < ROUNDS) queue.push(spawnChild(dataDir, journalPath, spawned++));
      const child = queue.shift();
      if (child === undefined) throw new Error('no child left');
      await child.waitFor('loaded', 30_000);
      const creates = readJournal(journalPath).creates;
      child.process.stdin?.write('go\n');
      if (STARTUP_KILLS.has(round)) {
        // Opening an existing store takes ~30 ms here (migration check, keyring check).
        await sleep(Math.random() * 30);
      } else {
        await child.waitFor('ready', 30_000);
        await sleep(50 + Math.random() * 350);
      }
      const running = child.process.exitCode === null && child.process.signalCode === null;
      if (!running) throw new Error(`life ${round} died by itself: ${child.stderr()}`);
      if (await child.kill()) kills++;

      const checkStarted = performance.now();
      let store: Store;
      try {
        store = await openStore({ dataDir });
      } catch (error) {
        const life = readJournal(journalPath).lives.get(round);
        throw new Error(
          `after kill ${round + 1} (life reached: ${life?.reached ?? 'nothing'}) the store does not open: ${(error as Error).message}`,
        );
      }
      try {
        const roundProblems: string[] = [];
        await checkDatabase(store, roundProblems);
        const snapshot = await snapshotOf(store);
        const journal = readJournal(journalPath);
        checkAuditTrail(snapshot, roundProblems);
        checkJournal(journal, snapshot, roundProblems);
        // Only the last life's keys and tokens can have changed: check those (all at the end).
        checkedKeys += await checkKeys(store, journal, snapshot, (life) => life === round, roundProblems);
        await checkTokens(store, journal, (life) => life === round, roundProblems);
        const life = journal.lives.get(round);
        const landed = whereKilled(life, journal, snapshot, roundProblems);
        count(where, landed);
        if (life?.reached === 'ready') loopKills++;
        if (journal.creates > creates) roundsWithCreates++;
        // A problem stays in the database: report it once, after the kill that caused it.
        for (const p of roundProblems.filter((x) => !seen.has(x))) {
          seen.add(p);
          problems.push(`after kill ${round + 1} (${landed}): ${p}`);
        }
      } finally {
        await store.close();
      }
      checkMs += performance.now() - checkStarted;
    }

    // Every key of every life, once more, through the API.
    const store = await openStore({ dataDir });
    let journal: Journal;
    try {
      const finalProblems: string[] = [];
      await checkDatabase(store, finalProblems);
      const snapshot = await snapshotOf(store);
      journal = readJournal(journalPath);
      checkAuditTrail(snapshot, finalProblems);
      checkJournal(journal, snapshot, finalProblems);
      checkedKeys += await checkKeys(store, journal, snapshot, () => true, finalProblems);
      await checkTokens(store, journal, () => true, finalProblems);
      problems.push(...finalProblems.filter((p) => !seen.has(p)).map((p) => `final check of all keys: ${p}`));
    } finally {
      await store.close();
    }

    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      [
        `crash test: ${kills} SIGKILLs of a running child (${loopKills} in the key loop) in ${seconds} s ` +
          `(checks ${(checkMs / 1000).toFixed(1)} s, ${checkedKeys} key checks)`,
        `journal: ${journal.creates} creates, ${journal.rotations} rotations, ${journal.revocations} revocations, ` +
          `${journal.tokens.length} access tokens reported; ${journal.torn} torn lines; creates in ${roundsWithCreates} of ${ROUNDS} lives`,
        'where the kills landed:',
        describeTally(where),
      ].join('\n'),
    );

    expect(problems).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(loopKills).toBeGreaterThanOrEqual(15);
    expect(roundsWithCreates).toBeGreaterThanOrEqual(15);
    expect(journal.creates).toBeGreaterThanOrEqual(50);
    expect(journal.rotations).toBeGreaterThan(0);
    expect(journal.revocations).toBeGreaterThan(0);
    expect(journal.tokens.length).toBeGreaterThan(0);
  });

  it(`opens after ${FIRST_STARTS} kills during a first start (migration, keyring generation)`, {
    timeout: 60_000,
  }, async () => {
    // One child per fresh directory, all spawned now so that they import together.
    const runs = Array.from({ length: FIRST_STARTS }, (_, i) => {
      const dir = tempDir();
      const dataDir = join(dir, 'data');
      return { i, dir, dataDir, child: spawnChild(dataDir, join(dir, 'journal'), 0) };
    });
    await Promise.all(runs.map((r) => r.child.waitFor('loaded', 30_000)));
    const problems: string[] = [];
    const where = new Map<string, number>();
    let kills = 0;
    for (const run of runs) {
      // A first start writes ~11 WAL frames before the migration's first table and ~66 by the end of
      // the migration, then a few more for the keyring check and the account: killing when the WAL
      // reaches a frame count spread over 0-90 lands before, inside and after the migration.
      const target = Math.floor(((run.i + Math.random()) * 90) / FIRST_STARTS);
      run.child.process.stdin?.write('go\n');
      const frames = waitForWalFrames(run.dataDir, target, 3_000);
      if (await run.child.kill()) kills++;
      const stage = firstStartStage(run.dataDir, join(run.dir, 'inspect'), problems, run.i);
      const label = `run ${run.i} (killed at WAL frame ${frames} of target ${target}, ${stage})`;
      count(where, stage);

      let store: Store;
      try {
        store = await openStore({ dataDir: run.dataDir });
      } catch (error) {
        problems.push(`${label}: the store does not open: ${(error as Error).message}`);
        continue;
      }
      try {
        const before = problems.length;
        await checkDatabase(store, problems);
        for (let p = before; p < problems.length; p++) problems[p] = `${label}: ${problems[p]}`;
        // The keyring the store settled on works: a key made now verifies and its secret opens.
        const account = await store.accounts.create(
          { email: `first-${run.i}@example.com`, password: 'crash-test-password-not-secret' },
          { type: 'cli' },
        );
        if (!account.ok) throw new Error(`${label}: account: ${account.code}`);
        const created = await store.keys.create(account.value.id, { name: 'after the crash' }, { type: 'cli' });
        if (!created.ok) throw new Error(`${label}: key: ${created.code}`);
        const parts = identify(created.value.token);
        if (parts?.type !== 'api_key' || parts.id === undefined || parts.secret === undefined) {
          throw new Error(`${label}: not a token`);
        }
        expect((await store.keys.verifySecret(parts.id, parts.secret)).ok).toBe(true);
        const credential = await store.keys.credential(parts.id);
        expect(credential).toBeDefined();
        if (credential !== undefined) expect(store.keys.openSecrets(parts.id, credential)).toHaveLength(1);
      } finally {
        await store.close();
      }
    }
    console.log(`first-start kills (${kills}) landed:\n${describeTally(where)}`);
    expect(problems).toEqual([]);
    expect(kills).toBe(FIRST_STARTS);
  });
});
