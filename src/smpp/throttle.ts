/**
 * Submit rate: a token bucket for `smpp.throughput` plus an adaptive factor that halves on a throttling answer
 * (0x58, 0x14), down to an eighth of the base rate, and doubles back after each quiet spell, so a throttling SMSC
 * is not hammered and a briefly busy one does not leave us crawling. Clock passed in.
 */
const MIN_FACTOR = 1 / 8;
const RECOVER_MS = 2000;
export class RateLimiter {
  private tokens: number;
  private last: number;
  private factor = 1;
  private lastThrottle = -Infinity;

  constructor(
    /** Messages per second; 0 = unlimited (still adaptive after throttling). */
    private readonly rate: number,
    private readonly now: () => number = Date.now,
    /** Rate used as the base when none is configured and the SMSC throttles. */
    private readonly fallbackRate = 50,
  ) {
    this.tokens = Math.max(1, rate);
    this.last = now();
  }

  /** Current allowed rate (msgs/s), or Infinity. */
  currentRate(): number {
    this.recover();
    if (this.factor >= 1 && this.rate === 0) return Infinity;
    return Math.max(1, (this.rate || this.fallbackRate) * this.factor);
  }

  private recover(): void {
    const t = this.now();
    while (this.factor < 1 && t - this.lastThrottle >= RECOVER_MS) {
      this.factor = Math.min(1, this.factor * 2);
      this.lastThrottle += RECOVER_MS;
    }
  }

  /** Milliseconds to wait before the next submit may go; 0 = now (and the token is taken). */
  take(): number {
    const rate = this.currentRate();
    if (rate === Infinity) return 0;
    const t = this.now();
    this.tokens = Math.min(Math.max(1, rate), this.tokens + ((t - this.last) / 1000) * rate);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / rate) * 1000);
  }

  throttled(): void {
    this.factor = Math.max(MIN_FACTOR, this.factor / 2);
    this.lastThrottle = this.now();
    this.tokens = 0;
  }
}
