/** The slow-client deadlines as pure functions: the phase read from the parser, the clock, the verdict. */
import { describe, expect, it } from 'vitest';
import { overdue, phaseOf, sweepMs, tick } from '../../src/smtp/deadlines.js';

const limits = { commandMs: 1000, dataMs: 5000 };
const conn = (parser: { _dataMode: boolean; _remainder: string } | false, pending = false) => ({
  _parser: parser,
  _handlerPending: pending,
  _upgrading: false,
});

describe('slow-client deadlines', () => {
  it("a partial line is the client's time; a handler of ours running, or nothing buffered, is not", () => {
    expect(phaseOf(conn({ _dataMode: false, _remainder: 'MAIL FR' }))).toBe('line');
    expect(phaseOf(conn({ _dataMode: false, _remainder: 'MAIL FROM:<a@b>\r' }, true))).toBe('idle');
    expect(phaseOf(conn({ _dataMode: false, _remainder: '' }))).toBe('idle');
    expect(phaseOf(conn({ _dataMode: true, _remainder: '' }))).toBe('data');
    expect(phaseOf(conn(false))).toBe('idle');
  });

  it('a phase that goes on keeps its start; a new phase starts the clock again', () => {
    const c = tick(undefined, 'line', 100);
    expect(tick(c, 'line', 900)).toBe(c);
    expect(tick(c, 'idle', 900)).toEqual({ phase: 'idle', since: 900 });
  });

  it('421 4.4.2 past the limit of the phase, nothing before it or when idle', () => {
    expect(overdue({ phase: 'line', since: 0 }, 1000, limits)).toBeUndefined();
    expect(overdue({ phase: 'line', since: 0 }, 1001, limits)).toEqual({
      code: 421,
      enhanced: '4.4.2',
      text: 'Command line not completed within 1 s; closing',
    });
    expect(overdue({ phase: 'data', since: 0 }, 4000, limits)).toBeUndefined();
    expect(overdue({ phase: 'data', since: 0 }, 5001, limits)?.text).toBe('Message not completed within 5 s; closing');
    expect(overdue({ phase: 'idle', since: 0 }, 1e9, limits)).toBeUndefined();
  });

  it('sweeps a tenth of the shorter limit, between 50 ms and 1 s', () => {
    expect(sweepMs(limits)).toBe(100);
    expect(sweepMs({ commandMs: 60_000, dataMs: 600_000 })).toBe(1000);
    expect(sweepMs({ commandMs: 100, dataMs: 100 })).toBe(50);
  });
});
