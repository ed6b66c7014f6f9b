/** The demo's typed phone replies: `reply <phone> <to> <text>`. */
import { describe, expect, it } from 'vitest';
import { parseReplyCommand } from '../../src/simulator/input.js';

describe('parseReplyCommand', () => {
  it('reads phone, destination and the rest of the line as the text', () => {
    expect(parseReplyCommand('reply +79991234567 Alerts On my way, 20 min')).toEqual({
      from: '+79991234567',
      to: 'Alerts',
      text: 'On my way, 20 min',
    });
    expect(parseReplyCommand('  REPLY 79991234567 4242 ok  ')).toEqual({ from: '79991234567', to: '4242', text: 'ok' });
  });

  it('a blank line is nothing; anything else gets the usage', () => {
    expect(parseReplyCommand('   ')).toBeUndefined();
    for (const bad of ['hello', 'reply', 'reply +7999 Alerts', 'reply abc Alerts text']) {
      expect(parseReplyCommand(bad)).toEqual({ error: expect.stringContaining('usage: reply <phone> <to> <text>') });
    }
  });
});
