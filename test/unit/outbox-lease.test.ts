/** A claimed outbox row's lease outlives the longest smarthost conversation the sender's timeouts allow. */
import { describe, expect, it } from 'vitest';
import { LEASE_MS, MAX_COMMANDS, SEND_TIMEOUTS } from '../../src/outbox/sender.js';

describe('outbox lease', () => {
  it('is longer than connect + greeting + every command at its silence limit (no second node sends meanwhile)', () => {
    const longest =
      SEND_TIMEOUTS.connectionTimeout + SEND_TIMEOUTS.greetingTimeout + MAX_COMMANDS * SEND_TIMEOUTS.socketTimeout;
    expect(longest).toBeLessThan(LEASE_MS);
  });
});
