/**
 * One clock for the cluster: the database's. Every node measures how far its own clock is from the database's, at
 * start and then regularly, and corrects every time it writes or judges (created_at, next_attempt_at, the rule
 * windows) by that offset, so two nodes whose clocks differ still agree on "a minute ago". Leases are judged in SQL
 * by the database's clock itself (bind-lease.ts, store.ts). A node whose clock is off by more than
 * cluster.max_clock_skew_s says so and takes no mail (451): its clock is being stepped or is broken, and a
 * correction measured a moment ago may no longer hold.
 */
import type pg from 'pg';

export interface ClockReading {
  /** Database clock minus this node's clock, ms. */
  offsetMs: number;
  /** The round trip of the best of the samples (the offset's uncertainty is half of it). */
  rttMs: number;
}

/** Pure: one sample's offset, taking the database's time as read halfway through the round trip. */
export function offsetOf(sentAt: number, dbTime: number, answeredAt: number): ClockReading {
  return { offsetMs: dbTime - (sentAt + answeredAt) / 2, rttMs: answeredAt - sentAt };
}

/** The sample with the shortest round trip: the one the network disturbed least. */
export function bestReading(samples: readonly ClockReading[]): ClockReading | undefined {
  return samples.reduce<ClockReading | undefined>((a, s) => (a === undefined || s.rttMs < a.rttMs ? s : a), undefined);
}

export async function readOffset(pool: pg.Pool, samples = 3, local: () => number = Date.now): Promise<ClockReading> {
  const readings: ClockReading[] = [];
  for (let i = 0; i < samples; i++) {
    const sentAt = local();
    const r = await pool.query<{ t: number }>(`SELECT extract(epoch from clock_timestamp()) * 1000 AS t`);
    const answeredAt = local();
    readings.push(offsetOf(sentAt, Number(r.rows[0]?.t), answeredAt));
  }
  return bestReading(readings) as ClockReading;
}

export class DbClock {
  private offset = 0;
  private measured = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRtt = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly maxSkewMs: number,
    private readonly everyMs = 10_000,
    private readonly local: () => number = Date.now,
    private readonly onReading?: (r: ClockReading) => void,
  ) {}

  /** The database's time as this node reckons it now. */
  readonly now = (): number => this.local() + this.offset;

  get offsetMs(): number {
    return this.offset;
  }

  /** Why this node takes no mail now, or undefined: its clock is off the database's by more than allowed. */
  problem(): string | undefined {
    if (!this.measured || Math.abs(this.offset) <= this.maxSkewMs) return undefined;
    const s = (Math.round(Math.abs(this.offset) / 100) / 10).toFixed(1);
    const way = this.offset < 0 ? 'ahead of' : 'behind';
    return `this node's clock is ${s} s ${way} the database's (cluster.max_clock_skew_s is ${this.maxSkewMs / 1000})`;
  }

  async measure(): Promise<ClockReading> {
    const r = await readOffset(this.pool, 3, this.local);
    this.offset = Math.round(r.offsetMs);
    this.lastRtt = r.rttMs;
    this.measured = true;
    this.onReading?.(r);
    return r;
  }

  get rttMs(): number {
    return this.lastRtt;
  }

  /** Measure now, then every `everyMs`; a failed measurement keeps the last offset. */
  async start(): Promise<void> {
    await this.measure();
    this.timer = setInterval(() => void this.measure().catch(() => undefined), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
