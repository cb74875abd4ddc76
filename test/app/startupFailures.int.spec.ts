import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.js';
import { logLines, runAuren } from '../support/auren.js';
import type { AurenExit } from '../support/auren.js';
import { createTestDatabase } from '../support/database.js';
import { embeddedLeftovers } from '../support/embedded.js';
import type { EmbeddedLeftovers } from '../support/embedded.js';

// A failed start says what failed, why and what to do in one line on stderr, with no stack
// trace anywhere, and exits non-zero: 2 for bad configuration, 1 otherwise.
function assertOneLine(exit: AurenExit, code: number, line: RegExp): void {
  assert.equal(exit.code, code, `exit code; stderr: ${exit.stderr}`);
  assert.match(exit.stderr, /^auren: [^\n]+\n$/, 'exactly one line on stderr');
  assert.match(exit.stderr.trimEnd(), line);
  assert.doesNotMatch(exit.stdout, /"stack"/, 'no stack trace in the log');
}

async function occupyPort(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const portOf = (server: Server) => (server.address() as { port: number }).port;

describe('Start-up failures', function () {
  this.timeout(120_000);
  let scratch: string;
  let leftovers: EmbeddedLeftovers;
  before(async () => {
    leftovers = embeddedLeftovers();
    scratch = await mkdtemp(path.join(tmpdir(), 'auren-startup-'));
  });
  after(async () => {
    await leftovers.removeDataFolder(path.join(scratch, 'embedded'));
    await rm(scratch, { recursive: true, force: true });
    await leftovers.removeSystemFolder();
  });

  it('says which variables are wrong and where they are described (exit code 2)', async () => {
    const exit = await runAuren(['serve'], { env: { PORT: 'eighty', SHUTDOWN_TIMEOUT_MS: '-5' } });
    assertOneLine(
      exit,
      2,
      /^auren: invalid configuration: PORT="eighty": expects a whole number from 0 to 65535; SHUTDOWN_TIMEOUT_MS="-5": .*; fix the variables named \(see Configuration in README\.md\)$/,
    );
  });

  it('says which database did not answer, why, and how long it waited', async () => {
    const closed = await freePort();
    const exit = await runAuren(['serve'], {
      env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/auren`, DB_STARTUP_TIMEOUT_MS: '300' },
    });
    assertOneLine(
      exit,
      1,
      new RegExp(
        `^auren: PostgreSQL at 127\\.0\\.0\\.1:${closed}/auren did not answer within 300 ms: .*ECONNREFUSED.*; ` +
          'check that it runs and that DATABASE_URL is right \\(DB_STARTUP_TIMEOUT_MS sets how long to wait\\), or unset DATABASE_URL to run the embedded PostgreSQL$',
      ),
    );
  });

  it('says when the data folder cannot be created because a file is in the way', async () => {
    const file = path.join(scratch, 'a-file');
    await writeFile(file, '');
    const exit = await runAuren(['serve'], { env: { AUREN_DATA_DIR: path.join(file, 'data') } });
    assertOneLine(
      exit,
      1,
      new RegExp(
        `^auren: cannot write the data folder ${file}/data: a part of its path is a file, not a folder \\(ENOTDIR\\); ` +
          'set AUREN_DATA_DIR to a folder this user can write, or set DATABASE_URL to use another PostgreSQL$',
      ),
    );
  });

  it('says when this user may not write the data folder', async () => {
    const locked = path.join(scratch, 'locked');
    await writeFile(path.join(scratch, 'placeholder'), '');
    await chmod(scratch, 0o500);
    try {
      // As root, without the capabilities that let root write anywhere (CI runs as root).
      const exit = await runAuren(['serve'], { withoutPermissionOverride: process.getuid?.() === 0, env: { AUREN_DATA_DIR: locked } });
      assertOneLine(
        exit,
        1,
        new RegExp(
          `^auren: cannot write the data folder ${locked}: permission denied \\(EACCES\\); set AUREN_DATA_DIR to a folder this user can write`,
        ),
      );
    } finally {
      await chmod(scratch, 0o700);
    }
  });

  it('says when PORT is taken, and what to do', async () => {
    const taken = await occupyPort();
    try {
      const exit = await runAuren(['serve'], { env: { DATABASE_URL: await createTestDatabase(), PORT: String(portOf(taken)) } });
      assertOneLine(
        exit,
        1,
        new RegExp(
          `^auren: cannot listen on 127\\.0\\.0\\.1:${portOf(taken)}: the port is in use \\(EADDRINUSE\\); stop what uses it, or set PORT to another port \\(0 picks a free one\\)$`,
        ),
      );
    } finally {
      taken.close();
    }
  });

  describe('with the embedded PostgreSQL', () => {
    const dataDir = () => path.join(scratch, 'embedded');

    it("gives PostgreSQL's own reason when it cannot start", async () => {
      const taken = await occupyPort();
      try {
        const exit = await runAuren(['serve'], { env: { AUREN_DATA_DIR: dataDir(), EMBEDDED_PG_PORT: String(portOf(taken)) } });
        assertOneLine(
          exit,
          1,
          new RegExp(
            `^auren: the embedded PostgreSQL did not start on port ${portOf(taken)}: .*could not bind IPv4 address "127\\.0\\.0\\.1": Address already in use.*; ` +
              'set EMBEDDED_PG_PORT to a free port, or to 0 to pick one at each start$',
          ),
        );
      } finally {
        taken.close();
      }
    });

    it('stops it when a later step fails, leaving no PostgreSQL running', async () => {
      const taken = await occupyPort();
      let exit: AurenExit;
      try {
        exit = await runAuren(['serve'], { env: { AUREN_DATA_DIR: dataDir(), PORT: String(portOf(taken)) } });
      } finally {
        taken.close();
      }
      assertOneLine(exit, 1, /^auren: cannot listen on 127\.0\.0\.1:\d+: the port is in use \(EADDRINUSE\)/);
      const started = logLines(exit.stdout).find(
        (line) => line.msg === 'embedded PostgreSQL is running; its data is kept in the cluster folder',
      );
      assert.ok(started, 'the embedded PostgreSQL had started');
      assert.equal(existsSync(path.join(dataDir(), 'postgres', 'postmaster.pid')), false, 'it shut down');
      const refused = await new Promise<boolean>((resolve) => {
        const socket = createConnection(Number(started.port), '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      assert.ok(refused, 'nothing listens on its port any more');
    });
  });
});
