/**
 * The flood rule's fast path at RCPT TO: a streak can only continue when the subscriber's last message was
 * accepted less than `gapMs` ago, so the listener remembers last-acceptance times for that long and only asks
 * the spool for the whole streak when one is recent. The spool re-checks when the mail is stored, so a stale
 * entry can only delay a refusal to DATA time, never let a flood through. Clock passed in.
 */
export class RecentAcceptances {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly gapMs: number,
    private readonly now: () => number,
  ) {}

  /** Seed from the spool at start: recipients accepted in the last gap. */
  load(entries: Iterable<[string, number]>): void {
    for (const [recipient, at] of entries) this.note(recipient, at);
  }

  note(recipient: string, at = this.now()): void {
    const prev = this.last.get(recipient);
    if (prev === undefined || at > prev) this.last.set(recipient, at);
  }

  /** True when the last acceptance to this recipient was less than the gap ago: the streak must be looked at. */
  mayBeInStreak(recipient: string): boolean {
    const at = this.last.get(recipient);
    return at !== undefined && this.now() - at < this.gapMs;
  }

  /** Forget entries older than the gap (call periodically). */
  prune(): void {
    const cutoff = this.now() - this.gapMs;
    for (const [r, at] of this.last) if (at <= cutoff) this.last.delete(r);
  }

  get size(): number {
    return this.last.size;
  }
}
