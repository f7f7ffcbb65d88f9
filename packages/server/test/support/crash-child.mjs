// Child process of test/crash.test.ts: opens the BUILT store on KEYWARD_DATA_DIR and changes keys
// in a loop until it is killed with SIGKILL.
//
// Protocol: the child imports everything, prints `loaded` and waits for a line on stdin before it
// touches the data directory, so the test can start the next child while it checks the database
// the previous one left (the imports take most of a second on a slow machine). After that line it
// prints `open` once the store is open and `ready` once the account exists. It exits by itself
// when stdin closes (the test is gone) and after two minutes at most.
//
// Every step is written to a journal (KEYWARD_CRASH_JOURNAL), one JSON object per line:
//
//   {"t":"boot","life":…,"pid":…}                 `go` received; the store is about to open
//   {"t":"open"}                                   openStore returned (migrated, keyring loaded)
//   {"t":"ready"}                                  the account exists; the loop starts
//   {"t":"begin","op":"create"}                    an operation starts...
//   {"t":"begin","op":"rotate","id":…,"grace":…}
//   {"t":"begin","op":"revoke","id":…}
//   {"t":"tx"}                                     ...is inside its transaction: its rows are written,
//                                                  the audit event and the commit are next...
//   {"t":"create","id":…,"token":…}                ...and the store reported success
//   {"t":"rotate","id":…,"token":…,"grace":…}
//   {"t":"revoke","id":…}
//   {"t":"token","key":…,"token":…}                an access token issued for a live key (no `begin`:
//                                                  it changes no key, and is committed without a
//                                                  sync of the disk, which a kill of the process
//                                                  must not lose all the same)
//
// What the journal proves: a result line is written only after the store reported success, so the
// change it records was committed and MUST survive the kill. A `begin` with no result after it is
// the operation the kill interrupted: it may or may not have committed, but if it did, it must be
// complete. appendFileSync is enough, without fsync: the process is killed, not the machine, and
// data handed to the kernel survives the death of the writer. (The `tx` marker comes from the
// store's injected clock, which the audit log reads inside the transaction: the second clock read
// of an operation.) Tokens are secrets: the journal lives in the test's private temp directory and
// nothing here or in the test prints them.
import { appendFileSync } from 'node:fs';
import { openStore } from '../../dist/store/index.js';
import { parseKeyId } from '../../dist/store/keys.js';

const dataDir = process.env.KEYWARD_DATA_DIR;
const journal = process.env.KEYWARD_CRASH_JOURNAL;
const life = Number(process.env.KEYWARD_CRASH_LIFE ?? '0');
if (!dataDir || !journal) {
  console.error('KEYWARD_DATA_DIR and KEYWARD_CRASH_JOURNAL must be set');
  process.exit(2);
}

const EMAIL = 'crash-test@example.com';
const PASSWORD = 'crash-test-password-not-secret';
const actor = { type: 'cli' };
const ONE_DAY_MS = 24 * 60 * 60 * 1000;

setTimeout(() => process.exit(4), 120_000).unref();

function record(entry) {
  appendFileSync(journal, `${JSON.stringify(entry)}\n`);
}

function fatal(message) {
  // Never prints a secret: messages name key ids and error codes only.
  console.error(`crash-child (life ${life}): ${message}`);
  process.exit(3);
}

// Counts clock reads during an operation: the first is taken before the transaction, the second by
// the audit log inside it.
let clockReads = -1;
const clock = {
  now() {
    if (clockReads >= 0 && ++clockReads === 2) record({ t: 'tx' });
    return Date.now();
  },
};

await new Promise((resolve) => {
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    input += chunk;
    if (input.includes('\n')) resolve(undefined);
  });
  process.stdin.on('end', () => process.exit(0));
  console.log('loaded');
});

// A line torn by a kill in an earlier life would swallow this one; a leading newline keeps it whole.
appendFileSync(journal, `\n${JSON.stringify({ t: 'boot', life, pid: process.pid })}\n`);

const store = await openStore({ dataDir, clock });
record({ t: 'open' });
console.log('open');

if ((await store.accounts.find(EMAIL)) === undefined) {
  const created = await store.accounts.create({ email: EMAIL, password: PASSWORD }, actor);
  // email_taken: an earlier life created it after all; either way it exists now.
  if (!created.ok && created.code !== 'email_taken') fatal(`account creation failed: ${created.code}`);
}
const accountId = (await store.accounts.find(EMAIL))?.id;
if (accountId === undefined) fatal('the account is missing');
record({ t: 'ready' });
console.log('ready');

// Keys created in this life and not revoked: candidates for rotation and revocation. Keys of
// earlier lives are never touched again, so each key's whole history is in one life.
const live = [];
async function operation(begin, run) {
  record(begin);
  clockReads = 0;
  const result = await run();
  clockReads = -1;
  return result;
}

for (let i = 0; ; i++) {
  const dice = Math.random();
  if (dice < 0.15 && live.length > 0) {
    const id = live[Math.floor(Math.random() * live.length)];
    // Half the time the default-like grace (old tokens keep working), half none (they stop at once).
    const grace = Math.random() < 0.5 ? 0 : ONE_DAY_MS;
    const rotated = await operation({ t: 'begin', op: 'rotate', id, grace }, () =>
      store.keys.rotate(id, { graceMs: grace }, actor),
    );
    if (!rotated.ok) fatal(`rotate ${id} failed: ${rotated.code}`);
    record({ t: 'rotate', id, token: rotated.value.token, grace });
  } else if (dice < 0.4 && live.length > 0) {
    // Four at once, as concurrent requests of the token endpoint come: one batch, one commit.
    const id = live[Math.floor(Math.random() * live.length)];
    const grant = { keyId: parseKeyId(id), accountId, scopes: [], ttlMs: 60 * 60 * 1000 };
    const issued = await Promise.all([1, 2, 3, 4].map(() => store.tokens.issue(grant)));
    for (const result of issued) {
      if (!result.ok) fatal(`token for ${id} failed: ${result.code}`);
      record({ t: 'token', key: id, token: result.value.token });
    }
  } else if (dice < 0.5 && live.length > 0) {
    const index = Math.floor(Math.random() * live.length);
    const id = live[index];
    live.splice(index, 1);
    const revoked = await operation({ t: 'begin', op: 'revoke', id }, () => store.keys.revoke(id, actor));
    if (!revoked.ok) fatal(`revoke ${id} failed: ${revoked.code}`);
    record({ t: 'revoke', id });
  } else {
    const created = await operation({ t: 'begin', op: 'create' }, () =>
      store.keys.create(EMAIL, { name: `crash L${life} ${i}` }, actor),
    );
    if (!created.ok) fatal(`create failed: ${created.code}`);
    record({ t: 'create', id: created.value.id, token: created.value.token });
    live.push(created.value.id);
  }
  // Lets stdin's end (and the lifetime timer) through: Kysely's SQLite calls never yield otherwise.
  await new Promise((resolve) => setImmediate(resolve));
}
