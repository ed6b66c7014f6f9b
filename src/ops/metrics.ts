/**
 * Prometheus metrics. The main thread (SMTP) and the work thread (spool, SMPP) each keep a registry with their
 * own metric names; /metrics serves both. Names are listed in the README (a test keeps them in sync).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SMS_STATES } from '../spool/types.js';

export function smtpMetrics(registry = new Registry()) {
  // The process's own metrics under their standard names (process_cpu_seconds_total, process_resident_memory_bytes,
  // nodejs_eventloop_lag_seconds, …), as every Prometheus client library exports them: the scrape's job label says
  // whose they are, and ready-made Node.js dashboards and alerts read them as they are. Only this thread collects
  // them (the heap and event loop figures are the SMTP thread's; CPU, memory and fds the whole process's).
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    mails: new Counter({
      name: 'smtp2sms_mails_total',
      help: 'Mails answered after DATA, by outcome, SMTP code and enhanced code',
      labelNames: ['outcome', 'code', 'enhanced'] as const,
      registers: [registry],
    }),
    recipients: new Counter({
      name: 'smtp2sms_recipients_total',
      help: 'RCPT TO answers, by outcome and SMTP code',
      labelNames: ['outcome', 'code'] as const,
      registers: [registry],
    }),
    sessions: new Counter({
      name: 'smtp2sms_smtp_sessions_total',
      help: 'SMTP connections accepted',
      registers: [registry],
    }),
  };
}
export type SmtpMetrics = ReturnType<typeof smtpMetrics>;

export interface DeliveryFacts {
  counts(): Promise<Record<string, number>>;
  oldestQueuedAt(): Promise<number | undefined>;
  binds(): Array<{ name: string; mode: string; up: boolean; reconnects: number }>;
}

export function deliveryMetrics(facts: DeliveryFacts, registry = new Registry()) {
  /** Each bind's reconnect count at the last scrape: the counter grows by the difference. */
  const reconnectsSeen = new Map<string, number>();
  return {
    registry,
    parts: new Counter({
      name: 'smtp2sms_sms_parts_submitted_total',
      help: 'SUBMIT_SM accepted by the SMSC, by encoding',
      labelNames: ['encoding'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'smtp2sms_submit_latency_seconds',
      help: 'SUBMIT_SM to submit_sm_resp',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    throttled: new Counter({
      name: 'smtp2sms_smpp_throttled_total',
      help: 'Throttling answers from the SMSC (0x58, 0x14)',
      registers: [registry],
    }),
    finished: new Counter({
      name: 'smtp2sms_messages_finished_total',
      help: 'Messages that reached a final state in the relay, by state',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    receipts: new Counter({
      name: 'smtp2sms_receipts_total',
      help: 'Delivery receipts, by stat',
      labelNames: ['stat'] as const,
      registers: [registry],
    }),
    spoolErrors: new Counter({
      name: 'smtp2sms_spool_errors_total',
      help: 'Failed spool operations',
      registers: [registry],
    }),
    queue: new Gauge({
      name: 'smtp2sms_queue_messages',
      help: 'Messages in the spool, by state',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        const counts = await facts.counts();
        for (const s of SMS_STATES) this.set({ state: s }, counts[s] ?? 0);
      },
    }),
    oldest: new Gauge({
      name: 'smtp2sms_queue_oldest_age_seconds',
      help: 'Age of the oldest message not yet submitted (0 when none)',
      registers: [registry],
      async collect() {
        const t = await facts.oldestQueuedAt();
        this.set(t === undefined ? 0 : (Date.now() - t) / 1000);
      },
    }),
    bindUp: new Gauge({
      name: 'smtp2sms_smpp_bind_up',
      help: '1 when the SMPP bind is bound',
      labelNames: ['bind', 'mode'] as const,
      registers: [registry],
      collect() {
        for (const b of facts.binds()) this.set({ bind: b.name, mode: b.mode }, b.up ? 1 : 0);
      },
    }),
    reconnects: new Counter({
      name: 'smtp2sms_smpp_reconnects_total',
      help: 'Reconnects of each SMPP bind since start',
      labelNames: ['bind', 'mode'] as const,
      registers: [registry],
      collect() {
        // A bind's count only grows while it lives; binds made anew (a cluster node taking the binds over again)
        // start at 0, and the counter goes on from where it was instead of going back.
        for (const b of facts.binds()) {
          const key = `${b.name}\0${b.mode}`;
          const seen = reconnectsSeen.get(key) ?? 0;
          this.inc({ bind: b.name, mode: b.mode }, b.reconnects >= seen ? b.reconnects - seen : b.reconnects);
          reconnectsSeen.set(key, b.reconnects);
        }
      },
    }),
  };
}
export type DeliveryMetrics = ReturnType<typeof deliveryMetrics>;

/** Metric names, for the README and its sync test (test/e2e/ops.test.ts checks them against a real scrape). */
export const METRIC_NAMES = [
  'smtp2sms_mails_total',
  'smtp2sms_recipients_total',
  'smtp2sms_smtp_sessions_total',
  'smtp2sms_sms_parts_submitted_total',
  'smtp2sms_submit_latency_seconds',
  'smtp2sms_smpp_throttled_total',
  'smtp2sms_messages_finished_total',
  'smtp2sms_receipts_total',
  'smtp2sms_spool_errors_total',
  'smtp2sms_queue_messages',
  'smtp2sms_queue_oldest_age_seconds',
  'smtp2sms_smpp_bind_up',
  'smtp2sms_smpp_reconnects_total',
  'smtp2sms_cluster_bind_holder',
  'smtp2sms_cluster_clock_offset_seconds',
  // With outbound.smtp_url (src/outbox/sender.ts).
  'smtp2sms_outbox_depth',
  'smtp2sms_outbox_sent_total',
  'smtp2sms_outbox_failed_total',
] as const;
