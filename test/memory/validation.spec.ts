import assert from 'node:assert/strict';
import { InvalidArgument } from '../../src/errors.js';
import { checkName } from '../../src/memory/validation.js';

describe('agent and person ids', () => {
  it('refuses an empty or blank id, naming the field', () => {
    for (const blank of ['', ' ', '   ', '\u00a0', '\u3000 ']) {
      assert.throws(
        () => checkName('user_id', blank),
        (error: unknown) => error instanceof InvalidArgument && error.message.startsWith('user_id:'),
        JSON.stringify(blank),
      );
    }
  });

  it('keeps an id with spaces inside it as it is', () => {
    assert.equal(checkName('agent_id', 'sleep specialist'), 'sleep specialist');
    assert.equal(checkName('user_id', 'user_12345'), 'user_12345');
  });
});
