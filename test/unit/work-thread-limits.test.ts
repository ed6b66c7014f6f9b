/** The work thread's heap ceiling: low enough for V8's small-step heap growth, never below what parsing needs. */
import { describe, expect, it } from 'vitest';
import { oldGenerationMb } from '../../src/worker/client.js';

describe('work thread old-generation ceiling', () => {
  it('is 1 GB with the defaults (100 clients × 2 MB mails need 800 MB while parsed)', () => {
    expect(oldGenerationMb({ max_clients: 100, max_message_bytes: 2 * 1024 * 1024 })).toBe(1024);
  });

  it('grows with what the config lets clients send at once', () => {
    expect(oldGenerationMb({ max_clients: 500, max_message_bytes: 10 * 1024 * 1024 })).toBe(20_000);
  });
});
