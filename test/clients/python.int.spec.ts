import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testServerUrl } from '../support/database.js';

// The Python client's own tests (clients/python/tests, stdlib unittest) run with Debian's
// python3-grpcio and python3-protobuf: they check the committed stubs against proto/, start a
// real server (node --import tsx src/cli.ts serve) on a database of its own on the test
// PostgreSQL, and restart it under a live tail.

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const python = '/usr/bin/python3';

interface Outcome {
  code: number;
  output: string;
}

function unittest(databaseUrl: string): Promise<Outcome> {
  const args = ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-t', 'clients/python'];
  return new Promise((resolve) => {
    execFile(
      python,
      args,
      { cwd: repository, env: { ...process.env, TEST_DATABASE_URL: databaseUrl }, maxBuffer: 16 * 1024 * 1024, timeout: 170_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

describe('Python client (clients/python)', function () {
  this.timeout(180_000);

  it('passes its tests against a real server, with Debian’s python3-grpcio', async () => {
    const { code, output } = await unittest(await testServerUrl());
    assert.equal(code, 0, `python3 -m unittest discover clients/python/tests failed:\n${output}`);
    assert.match(output, /^OK/m, output);
  });
});
