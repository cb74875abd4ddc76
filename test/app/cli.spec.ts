import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPOSITORY, runAuren } from '../support/auren.js';

describe('The auren command', function () {
  this.timeout(30_000);

  it('prints the version from package.json with --version', async () => {
    const { version } = JSON.parse(await readFile(path.join(REPOSITORY, 'package.json'), 'utf8')) as { version: string };
    const exit = await runAuren(['--version']);
    assert.equal(exit.code, 0);
    assert.equal(exit.stdout, `${version}\n`);
    assert.equal(exit.stderr, '');
  });

  it('lists its commands with --help and points at the README for configuration', async () => {
    const exit = await runAuren(['--help']);
    assert.equal(exit.code, 0);
    assert.match(exit.stdout, /^usage: auren/);
    for (const command of ['serve', 'db migrate', '--version', '--help']) assert.ok(exit.stdout.includes(command), command);
    assert.match(exit.stdout, /README\.md/);
  });

  it('refuses an unknown command in one line, with exit code 2', async () => {
    const exit = await runAuren(['frobnicate']);
    assert.equal(exit.code, 2);
    assert.equal(exit.stderr, "auren: unknown command 'frobnicate'; see auren --help\n");
  });
});
