import { describe, expect, it } from 'vitest';
import { stopSignals } from '../../src/commands/stop-signals.js';

describe('stop signals once the daemon is stopping', () => {
  it('the same signal within a second is the echo (Ctrl-C to the group), as often as it comes', () => {
    const judge = stopSignals(false);
    expect(judge('SIGINT', 0)).toBe('stop');
    expect(judge('SIGINT', 10)).toBe('echo');
    expect(judge('SIGINT', 999)).toBe('echo');
  });

  it('without npm, the same signal a second or more later is an operator asking again: stop at once', () => {
    const judge = stopSignals(false);
    expect(judge('SIGTERM', 0)).toBe('stop');
    expect(judge('SIGTERM', 1000)).toBe('again');
  });

  it("under npm, npm's copy is the echo however late it comes; a further one stops at once", () => {
    const judge = stopSignals(true);
    expect(judge('SIGINT', 0)).toBe('stop');
    expect(judge('SIGINT', 1500)).toBe('echo');
    expect(judge('SIGINT', 4000)).toBe('again');
  });

  it('another signal while stopping is never an echo', () => {
    const judge = stopSignals(true);
    expect(judge('SIGTERM', 0)).toBe('stop');
    expect(judge('SIGINT', 5)).toBe('again');
  });
});
