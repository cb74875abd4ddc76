import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('Configuration', () => {
  it('has working defaults for everything', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.events.appendMaxEvents, 1000);
  });

  it('reads values from the environment', () => {
    const config = loadConfig({ PORT: '9000', DATABASE_URL: 'postgres://u@db:5432/auren', APPEND_MAX_EVENTS: '10' });
    assert.equal(config.port, 9000);
    assert.equal(config.databaseUrl, 'postgres://u@db:5432/auren');
    assert.equal(config.events.appendMaxEvents, 10);
  });

  for (const [name, value, expectation] of [
    ['PORT', 'eighty', /PORT="eighty": expects a whole number from 0 to 65535/],
    ['PORT', '70000', /PORT="70000": expects a whole number/],
    ['DATABASE_URL', 'mysql://x@y/z', /DATABASE_URL="mysql:\/\/x@y\/z": expects a postgres:\/\/ or postgresql:\/\/ URL/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL="not a url": expects a URL/],
    ['DB_POOL_SIZE', '0', /DB_POOL_SIZE="0": expects a whole number from 1/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud"/],
  ] as const) {
    it(`stops on ${name}=${value}, naming the variable and what it expects`, () => {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, expectation);
          return true;
        },
      );
    });
  }

  it('reports every bad variable at once, on one line, and says where the variables are described', () => {
    assert.throws(
      () => loadConfig({ PORT: 'x', READ_MAX_COUNT: '-1' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.exitCode, 2);
        assert.doesNotMatch(error.message, /\n/);
        assert.match(
          error.message,
          /^invalid configuration: PORT="x": .*; READ_MAX_COUNT="-1": .*; fix the variables named \(see Configuration in README\.md\)$/,
        );
        return true;
      },
    );
  });
});
