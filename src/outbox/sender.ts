/**
 * The outbox's sender: makes the reports due (a sweep over the spool's DSN facts, one transaction) and sends
 * outbox mails through the smarthost with nodemailer. A row is claimed with a lease (no other sender, on this
 * node or another, takes it meanwhile), marked sent only after the smarthost's 250: at-least-once. A failure is
 * retried with doubling waits across restarts (the wait is stored with the row); a row older than
 * outbound.drop_after_s that still fails is logged and dropped.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/log.js';
import type { OutboxStore, ReportSweep } from '../spool/outbox-contract.js';
import type { OutboxRow } from './facts.js';
import { buildReplyMail } from './reply-mail.js';
import { buildReport } from './report.js';

/**
 * nodemailer's defaults (2 min to connect, 10 min of silence per command) would let one stuck conversation outlive
 * the lease, and another node would then send the same row while this one still may: bounded here instead.
 */
export const SEND_TIMEOUTS = { connectionTimeout: 20_000, greetingTimeout: 20_000, socketTimeout: 30_000 } as const;
/** Commands of one conversation at most (EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA, the data's end, QUIT). */
export const MAX_COMMANDS = 9;
/** How long a claimed outbox row is this sender's: longer than the longest conversation SEND_TIMEOUTS allow. */
export const LEASE_MS = 360_000;
const TICK_MS = 1000;
const BATCH = 20;

export function outboundFrom(config: Config): string {
  return config.outbound.from ?? `MAILER-DAEMON@${config.smtp.domains[0] ?? 'localhost'}`;
}

export function reportSweep(config: Config): ReportSweep {
  return {
    defaultNotify: config.reports.default_notify,
    delayAfterMs: config.reports.delay_after_s * 1000,
    relayedAfterMs: config.reports.relayed_after_s * 1000,
    receiptsRequested: config.smpp.registered_delivery !== 0,
    capPerHour: config.reports.max_per_sender_per_hour,
  };
}

/** Wait before the next try after `attempts` tries: doubling from retry_min_s up to retry_max_s. */
export function retryDelayMs(attempts: number, minS: number, maxS: number): number {
  return Math.min(maxS, minS * 2 ** Math.max(0, attempts - 1)) * 1000;
}

export class OutboxSender {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;
  /** The node's id: unique among live nodes (one daemon per SQLite spool), so a restart knows its own leases. */
  private readonly owner: string;
  private readonly sent: Counter;
  private readonly failed: Counter;

  constructor(
    private readonly store: OutboxStore,
    private readonly config: Config,
    private readonly log: Logger,
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    this.owner = config.node.id;
    this.transport = nodemailer.createTransport({ url: config.outbound.smtp_url as string, ...SEND_TIMEOUTS });
    const counts = () => store.outboxCounts();
    // Read at each scrape; the registry keeps it.
    new Gauge({
      name: 'smtp2sms_outbox_depth',
      help: 'Reports and reply mails waiting for the smarthost',
      registers: [registry],
      async collect() {
        this.set((await counts()).pending);
      },
    });
    this.sent = new Counter({
      name: 'smtp2sms_outbox_sent_total',
      help: 'Outbox mails the smarthost took',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.failed = new Counter({
      name: 'smtp2sms_outbox_failed_total',
      help: 'Outbox sends that failed (retried later, or dropped)',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    });
  }

  start(): void {
    // Rows this node was sending when it died keep a lease of LEASE_MS: released here, they go out at once.
    const released = this.store.releaseOutbox(this.owner).then(
      (n) => n > 0 && this.log.info({ rows: n }, 'outbox rows this node was sending when it stopped: sent again'),
      (err: unknown) =>
        this.log.warn({ err }, 'could not release this node’s outbox leases; they expire by themselves'),
    );
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pass()
        .catch((err: unknown) => this.log.error({ err }, 'outbox pass failed; tried again shortly'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, TICK_MS);
        });
    };
    void released.then(tick);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.transport.close();
  }

  /** One pass: make the reports due, then send what is due. */
  private async pass(): Promise<void> {
    const { made, capped } = await this.store.reportsDue(this.now(), reportSweep(this.config));
    if (made > 0) this.log.info({ made }, 'delivery reports made');
    if (capped > 0)
      this.log.warn(
        { capped, cap: this.config.reports.max_per_sender_per_hour },
        'delivery reports not sent: reports.max_per_sender_per_hour reached',
      );
    for (;;) {
      const rows = await this.store.claimOutbox(BATCH, this.now(), LEASE_MS, this.owner);
      if (rows.length === 0) return;
      for (const row of rows) {
        if (this.stopped) return;
        await this.send(row);
      }
    }
  }

  private async send(row: OutboxRow): Promise<void> {
    const f = row.facts;
    const log = this.log.child({
      outboxId: row.id,
      kind: f.kind,
      to: f.to,
      ...(f.kind === 'report' ? { queueId: f.queueId, action: f.action } : {}),
    });
    try {
      const from = outboundFrom(this.config);
      const raw =
        f.kind === 'report'
          ? await buildReport(f, { reportingMta: this.config.smtp.name, from }, this.now())
          : await buildReplyMail(f, this.config.smtp.name, row.id);
      // Reports go from the null sender (RFC 3461 §6.2): a report about a report is never made.
      await this.transport.sendMail({ envelope: { from: f.kind === 'report' ? '' : from, to: [f.to] }, raw });
      await this.store.outboxDone(row.id, { kind: 'sent' }, this.now());
      this.sent.inc({ kind: f.kind });
      log.info('outbox mail sent');
    } catch (err) {
      const e = err as { message?: string; responseCode?: number; response?: string };
      const error = e.response ?? e.message ?? String(err);
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
      const now = this.now();
      if (now - row.createdAt >= this.config.outbound.drop_after_s * 1000) {
        this.failed.inc({ kind: f.kind, outcome: 'dropped' });
        log.error({ error, attempts: row.attempts }, 'outbox mail dropped: not sent within outbound.drop_after_s');
        await this.store.outboxDone(row.id, { kind: 'dropped', error }, now);
        return;
      }
      const nextAt =
        now + retryDelayMs(row.attempts, this.config.outbound.retry_min_s, this.config.outbound.retry_max_s);
      this.failed.inc({ kind: f.kind, outcome: 'retry' });
      log[permanent ? 'error' : 'warn'](
        { error, attempts: row.attempts, nextAt: new Date(nextAt).toISOString() },
        permanent
          ? 'smarthost refused an outbox mail; retried until outbound.drop_after_s'
          : 'outbox mail not sent; will retry',
      );
      await this.store.outboxDone(row.id, { kind: 'retry', nextAt, error }, now);
    }
  }
}
