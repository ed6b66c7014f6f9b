/**
 * One SMPP bind to the SMSC, kept up for as long as the daemon runs.
 *
 * node-smpp is only the codec and socket here: it never calls back for PDUs in flight when the
 * socket closes, cannot reconnect, and answers nothing by itself. So this class keeps its own table of requests
 * by sequence number with timeouts, answers ENQUIRE_LINK / DELIVER_SM / UNBIND, checks its own ENQUIRE_LINKs,
 * and builds a fresh session for every connection, with exponential back-off and jitter.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../ops/log.js';
import { sendPdu, smpp, type PDU, type PduFields, type Session } from './pdu.js';
import { statusName } from './status.js';

export type BindMode = 'transceiver' | 'transmitter' | 'receiver';

export interface BindOptions {
  name: string;
  url: string;
  systemId: string;
  password: string;
  systemType: string;
  mode: BindMode;
  enquireLinkMs: number;
  responseTimeoutMs: number;
  window: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Wait after a refused bind (bad credentials): slow, never a tight loop. */
  bindRefusedRetryMs: number;
  /** Extra options for tls.connect (ca, rejectUnauthorized, servername) with ssmpp://. */
  tls: Record<string, unknown>;
  log: Logger;
  /** Handle a DELIVER_SM; resolves to the command_status for its response. */
  onDeliver(pdu: PDU): Promise<number>;
}

/** A request that may succeed if tried again: not bound, connection lost, no response in time. */
export class TransientSmppError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransientSmppError';
  }
}

export interface SubmitResponse {
  status: number;
  messageId: string;
}

interface Pending {
  command: string;
  resolve(pdu: PDU): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

type State = 'idle' | 'connecting' | 'binding' | 'bound' | 'stopping' | 'stopped';

const STATUS_OK = 0;
const ESME_RX_T_APPN = 0x64;
/** A bind that stayed up this long was healthy: the next reconnect starts from the minimum delay again. */
const HEALTHY_MS = 30_000;

/** Full jitter between half and all of a wait, so many binds do not reconnect in step. */
const jitter = (ms: number) => Math.round(ms * (0.5 + Math.random() * 0.5));
const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

export class SmppBind extends EventEmitter {
  private state: State = 'idle';
  private session: Session | undefined;
  private readonly pending = new Map<number, Pending>();
  private submits = 0;
  private seq = 0;
  private backoff: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private enquireTimer: NodeJS.Timeout | undefined;
  private boundAt = 0;
  /** Set when the SMSC refused the bind: the wait it was logged with, which the reconnect then keeps to. */
  private refusedRetryMs: number | undefined;
  /** Reconnects since start (for metrics). */
  reconnects = 0;
  readonly log: Logger;

  constructor(readonly opts: BindOptions) {
    super();
    this.backoff = opts.reconnectMinMs;
    this.log = opts.log.child({ bind: opts.name, mode: opts.mode });
  }

  get isBound(): boolean {
    return this.state === 'bound';
  }

  get canSubmit(): boolean {
    return this.state === 'bound' && this.opts.mode !== 'receiver';
  }

  /** Free window slots for SUBMIT_SM. */
  get free(): number {
    return this.canSubmit ? Math.max(0, this.opts.window - this.submits) : 0;
  }

  get inFlight(): number {
    return this.submits;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.connect();
  }

  private connect(): void {
    this.state = 'connecting';
    const session = smpp.connect({ url: this.opts.url, ...this.opts.tls });
    this.session = session;
    const tls = this.opts.url.startsWith('ssmpp:');
    const connectTimer = setTimeout(() => {
      this.log.warn({ url: this.opts.url }, 'SMSC connect timed out');
      session.destroy();
    }, this.opts.responseTimeoutMs);
    session.once(tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(connectTimer);
      // PDUs are small writes: without TCP_NODELAY, Nagle waits for the peer's delayed ACK (up to 40 ms).
      session.socket.setNoDelay(true);
      this.guard(() => this.bind(session));
    });
    session.on('pdu', (pdu: PDU) => this.guard(() => this.onPdu(session, pdu)));
    session.on('error', (err: Error) => {
      this.log.warn({ err: err.message, url: this.opts.url }, 'SMPP connection error');
      session.destroy();
    });
    session.on('close', () => {
      clearTimeout(connectTimer);
      this.onClose(session);
    });
    // The SMSC closed its side: nothing more can come, so go now. Waiting for 'close' would wait for our own side
    // to be flushed and ended, which a write to the half-closed socket finds out only seconds later.
    session.socket.once('end', () => session.destroy());
  }

  /** An exception in a handler must not escape into node-smpp's socket event and kill the session silently. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'SMPP handler failed; dropping the connection');
      this.session?.destroy();
    }
  }

  private bind(session: Session): void {
    this.state = 'binding';
    const command = `bind_${this.opts.mode}`;
    this.request(session, command, {
      system_id: this.opts.systemId,
      password: this.opts.password,
      system_type: this.opts.systemType,
      interface_version: 0x34,
    }).then(
      (resp) => {
        if (session !== this.session) return;
        if (resp.command_status !== STATUS_OK) {
          const name = statusName(resp.command_status);
          const retryInMs = jitter(this.opts.bindRefusedRetryMs);
          this.log.error(
            { status: name, commandStatus: resp.command_status, retryInMs },
            `SMSC refused the bind (${name}); retrying in ${seconds(retryInMs)}: ` +
              'check smpp.system_id, smpp.password and smpp.system_type',
          );
          this.refusedRetryMs = retryInMs;
          session.destroy();
          return;
        }
        if (this.state !== 'binding') return; // stopping
        this.state = 'bound';
        this.boundAt = Date.now();
        this.log.info({ url: this.opts.url, systemId: this.opts.systemId }, 'bound');
        this.scheduleEnquireLink(session);
        this.emit('up');
      },
      (err: Error) => {
        this.log.warn({ err: err.message }, 'bind failed');
        session.destroy();
      },
    );
  }

  private scheduleEnquireLink(session: Session): void {
    clearTimeout(this.enquireTimer);
    this.enquireTimer = setTimeout(() => {
      if (session !== this.session || this.state !== 'bound') return;
      this.request(session, 'enquire_link', {}).then(
        () => this.scheduleEnquireLink(session),
        (err: Error) => {
          this.log.warn({ err: err.message }, 'ENQUIRE_LINK unanswered: dropping the connection');
          session.destroy();
        },
      );
    }, this.opts.enquireLinkMs);
  }

  private onPdu(session: Session, pdu: PDU): void {
    if (pdu.isResponse() || pdu.command === 'generic_nack') {
      const p = this.pending.get(pdu.sequence_number);
      if (!p) {
        this.log.warn(
          { command: pdu.command, seq: pdu.sequence_number },
          'response to no request in flight (after its timeout?)',
        );
        return;
      }
      this.pending.delete(pdu.sequence_number);
      clearTimeout(p.timer);
      if (p.command === 'submit_sm') this.releaseSlot();
      p.resolve(pdu);
      return;
    }
    switch (pdu.command) {
      case 'enquire_link':
        sendPdu(session, pdu.response());
        return;
      case 'deliver_sm':
        this.opts.onDeliver(pdu).then(
          (status) => sendPdu(session, pdu.response({ command_status: status })),
          (err: unknown) => {
            this.log.error({ err }, 'DELIVER_SM handling failed; asking the SMSC to retry');
            sendPdu(session, pdu.response({ command_status: ESME_RX_T_APPN }));
          },
        );
        return;
      case 'alert_notification':
        // SMPP 3.4 § 4.12: it has no response; answering it (node-smpp would throw) is not ours to do.
        this.log.info({ from: pdu.source_addr }, 'SMSC alert_notification: the subscriber is reachable again');
        return;
      case 'unbind':
        this.log.info('SMSC unbinds');
        sendPdu(session, pdu.response());
        session.close();
        return;
      default: {
        // An unknown command_id gets generic_nack (node-smpp makes it for command 'unknown'), a known one its _resp.
        const { command, command_id: commandId, sequence_number: seq } = pdu;
        this.log.warn({ command, commandId, seq }, 'SMSC sent an unsupported command');
        sendPdu(session, pdu.response({ command_status: smpp.errors.ESME_RINVCMDID ?? 3 }));
      }
    }
  }

  private request(session: Session, command: string, fields: PduFields): Promise<PDU> {
    return new Promise<PDU>((resolve, reject) => {
      this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1;
      const seq = this.seq;
      const pdu = new smpp.PDU(command, { ...fields, sequence_number: seq });
      const timer = setTimeout(() => {
        if (this.pending.delete(seq)) {
          if (command === 'submit_sm') this.releaseSlot();
          reject(new TransientSmppError(`no ${command}_resp within ${this.opts.responseTimeoutMs} ms`));
        }
      }, this.opts.responseTimeoutMs);
      this.pending.set(seq, { command, resolve, reject, timer });
      if (command === 'submit_sm') this.submits++;
      let sent = false;
      try {
        sent = sendPdu(session, pdu);
      } catch (err) {
        // short_message over 254 bytes and similar encoding errors are thrown synchronously by node-smpp.
        this.pending.delete(seq);
        clearTimeout(timer);
        if (command === 'submit_sm') this.releaseSlot();
        reject(err as Error);
        return;
      }
      if (!sent) {
        this.pending.delete(seq);
        clearTimeout(timer);
        if (command === 'submit_sm') this.releaseSlot();
        reject(new TransientSmppError('socket not writable'));
      }
    });
  }

  private releaseSlot(): void {
    this.submits--;
    this.emit('slot');
  }

  /** Send one SUBMIT_SM. Rejects with TransientSmppError when it may be retried. */
  async submit(fields: PduFields): Promise<SubmitResponse> {
    const session = this.session;
    if (!session || !this.canSubmit) throw new TransientSmppError(`bind ${this.opts.name} is not bound`);
    const resp = await this.request(session, 'submit_sm', fields);
    return { status: resp.command_status, messageId: typeof resp.message_id === 'string' ? resp.message_id : '' };
  }

  private onClose(session: Session): void {
    if (session !== this.session) return;
    clearTimeout(this.enquireTimer);
    const wasBound = this.state === 'bound';
    for (const [seq, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(seq);
      if (p.command === 'submit_sm') this.releaseSlot();
      p.reject(new TransientSmppError('connection to the SMSC lost'));
    }
    this.session = undefined;
    if (wasBound) this.emit('down');
    if (this.state === 'stopping' || this.state === 'stopped') {
      this.state = 'stopped';
      this.emit('stopped');
      return;
    }
    if (wasBound && Date.now() - this.boundAt >= HEALTHY_MS) this.backoff = this.opts.reconnectMinMs;
    let delay: number;
    if (this.refusedRetryMs !== undefined) {
      // Reachable but refused: the refusal was logged with this wait; "unreachable" would contradict it.
      delay = this.refusedRetryMs;
      this.refusedRetryMs = undefined;
      this.backoff = this.opts.reconnectMinMs;
    } else {
      delay = jitter(this.backoff);
      const msg = wasBound ? 'connection lost; reconnecting' : 'SMSC unreachable; retrying';
      this.log.warn({ reconnectInMs: delay }, msg);
      const { reconnectMinMs: min, reconnectMaxMs: max } = this.opts;
      this.backoff = Math.min(Math.max(this.backoff * 2, min), Math.max(max, this.backoff));
    }
    this.state = 'idle';
    this.reconnectTimer = setTimeout(() => {
      this.reconnects++;
      this.connect();
    }, delay);
  }

  /**
   * Now, without waiting for anything (this node was fenced: another may bind any moment): an UNBIND is written on
   * the way out but not waited for, and the connection is destroyed. Submits in flight fail as a lost connection.
   */
  abort(): void {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.enquireTimer);
    const session = this.session;
    this.state = 'stopping';
    if (!session) {
      this.state = 'stopped';
      return;
    }
    try {
      sendPdu(session, new smpp.PDU('unbind', {}));
    } catch {
      // A socket already unwritable: destroying it is all that is left.
    }
    session.destroy();
  }

  /** Wait for SUBMIT_SMs in flight (up to `timeoutMs`), UNBIND, close. */
  async stop(timeoutMs: number): Promise<void> {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.enquireTimer);
    const session = this.session;
    const wasBound = this.state === 'bound';
    this.state = 'stopping';
    if (!session) {
      this.state = 'stopped';
      return;
    }
    const deadline = Date.now() + timeoutMs;
    while (this.submits > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (wasBound) {
      await this.request(session, 'unbind', {}).catch(() => undefined);
    }
    await new Promise<void>((resolve) => {
      if (!this.session) return resolve();
      this.once('stopped', () => resolve());
      session.close();
      setTimeout(() => {
        session.destroy();
        resolve();
      }, 2000).unref();
    });
    this.state = 'stopped';
  }
}
