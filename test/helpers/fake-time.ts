/**
 * A daemon whose clock is moved, with Debian's libfaketime (LD_PRELOAD): its wall clock only; the monotonic clock
 * (performance.now, timers) stays true, as it does when an administrator or NTP sets a machine's time.
 * Installed with apt-get when missing, as chromium is (debian-package.ts).
 */
import { ensureDebianPackage } from './debian-package.js';

/** The multi-threaded variant: the daemon has a work thread. */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

export function fakeTimeEnv(offsetS: number): Record<string, string> {
  ensureDebianPackage(LIBFAKETIME, 'faketime', 'The clock-skew tests');
  return {
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME: `${offsetS >= 0 ? '+' : ''}${offsetS}s`,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    // Read FAKETIME once: no file or environment look-ups on every clock call.
    FAKETIME_NO_CACHE: '0',
  };
}
