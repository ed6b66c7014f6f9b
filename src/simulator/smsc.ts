/**
 * An SMSC simulator on node-smpp's server, for tests and the demo: accepts binds (optionally checking
 * credentials), answers SUBMIT_SM with ids, sends receipts, records every PDU and every reassembled SMS, and on
 * request misbehaves: throttles every Nth submit, drops the connection at the Nth submit, delays responses,
 * refuses destination prefixes, ignores ENQUIRE_LINK.
 */
import type { AddressInfo } from 'node:net';
import { atomsIn, decodeBytes, type Coding } from '../sms/encode.js';
import { isGsmText } from '../sms/gsm7.js';
import { segment } from '../sms/segment.js';
import { messageBytes, sendPdu, smpp, type PDU, type Session } from '../smpp/pdu.js';
import { statusName } from '../smpp/status.js';

export interface SimulatorBehaviour {
  /** Refuse binds whose system_id/password differ (undefined: accept any). */
  systemId?: string | undefined;
  password?: string | undefined;
  /** Answer every Nth SUBMIT_SM with ESME_RTHROTTLED (0x58). */
  throttleEvery?: number | undefined;
  /** Drop the connection, unanswered, at every Nth SUBMIT_SM of a connection. */
  dropAfter?: number | undefined;
  /** Delay each submit_sm_resp by this many ms. */
  delayMs?: number | undefined;
  /** Destinations starting with one of these get ESME_RINVDSTADR (0x0B). */
  refusePrefixes?: string[] | undefined;
  /** Receipts for registered_delivery: stat per destination (default DELIVRD); 'none' sends none. */
  receiptStat?: ((destination: string) => string | 'none') | undefined;
  receiptDelayMs?: number | undefined;
  /** Send each receipt before its submit_sm_resp (receipts that overtake the answer, as some SMSCs do). */
  receiptBeforeResp?: boolean | undefined;
  /** How the SMSC writes message ids: in submit_sm_resp, and in receipts. */
  idFormat?: 'decimal' | 'hex' | undefined;
  receiptIdFormat?: 'same' | 'decimal' | 'hex-upper-zeros' | undefined;
  /** The phone answers every whole SMS it gets with this text after `delayMs` (demo mode: try replies by mail). */
  autoReply?: { text: string; delayMs: number } | undefined;
  /** Do not answer ENQUIRE_LINK (a hung SMSC). */
  silent?: boolean | undefined;
  /** A command_status for this destination (e.g. 0x08 to make it fail temporarily); undefined: normal. */
  submitStatus?: ((destination: string) => number | undefined) | undefined;
}

export interface SimulatorTls {
  key: Buffer;
  cert: Buffer;
}

/** One SMPP connection as the SMSC saw it: when it bound and closed, and when it submitted (tests of fencing). */
export interface SessionRecord {
  id: number;
  openedAt: number;
  boundAt?: number;
  closedAt?: number;
  submits: number[];
}

export interface RecordedSubmit {
  at: number;
  /** The SessionRecord id of the connection it came on. */
  session: number;
  systemType: string;
  pdu: {
    source_addr: string;
    source_addr_ton: number;
    source_addr_npi: number;
    destination_addr: string;
    dest_addr_ton: number;
    dest_addr_npi: number;
    esm_class: number;
    data_coding: number;
    registered_delivery: number;
    short_message: Buffer;
    message_payload?: Buffer | undefined;
    sar_msg_ref_num?: number | undefined;
    sar_total_segments?: number | undefined;
    sar_segment_seqnum?: number | undefined;
  };
  status: number;
  messageId: string | undefined;
}

export interface ReceivedSms {
  at: number;
  to: string;
  from: string;
  dataCoding: number;
  encoding: string;
  parts: number;
  text: string;
  /** Concatenation reference, when the message had parts. */
  ref: number | undefined;
}

interface Concat {
  ref: number;
  total: number;
  seq: number;
}

function udhConcat(bytes: Buffer): { concat?: Concat; udhLength: number } {
  const len = bytes[0] ?? 0;
  let i = 1;
  while (i < len + 1) {
    const iei = bytes[i] as number;
    const l = bytes[i + 1] as number;
    if (iei === 0x00 && l === 3)
      return {
        concat: { ref: bytes[i + 2] as number, total: bytes[i + 3] as number, seq: bytes[i + 4] as number },
        udhLength: len + 1,
      };
    if (iei === 0x08 && l === 4)
      return {
        concat: { ref: bytes.readUInt16BE(i + 2), total: bytes[i + 4] as number, seq: bytes[i + 5] as number },
        udhLength: len + 1,
      };
    i += 2 + l;
  }
  return { udhLength: len + 1 };
}

const ENCODING_NAME: Record<number, string> = { 0: 'GSM', 3: 'Latin-1', 4: 'Latin-1', 8: 'UCS-2' };
const MESSAGE_STATE: Record<string, number> = {
  DELIVRD: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIV: 5,
  ACCEPTD: 6,
  UNKNOWN: 7,
  REJECTD: 8,
};

/** "ESME_RINVPASWD (0x0000000e)": a command_status as a log reads it. */
const statusText = (status: number) => `${statusName(status)} (0x${status.toString(16).padStart(8, '0')})`;

function receiptDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

/** A reply as a phone sends it (sendFromPhone). */
export interface PhoneReply {
  from: string;
  to: string;
  text: string;
  coding?: Coding;
  concat?: 'udh8' | 'udh16' | 'sar';
  ref?: number;
  splitAfterBytes?: number[];
  /** Send only these parts (1-based): the rest later, e.g. across a restart of the daemon. */
  onlyParts?: number[];
}

export class SmscSimulator {
  readonly submits: RecordedSubmit[] = [];
  readonly received: ReceivedSms[] = [];
  binds = 0;
  /** Sessions bound right now, and the most ever bound at once, per bind mode (an account's bind limit). */
  readonly boundNow: Record<string, number> = { transceiver: 0, transmitter: 0, receiver: 0 };
  readonly sessions: SessionRecord[] = [];
  private readonly sessionOf = new WeakMap<Session, SessionRecord>();
  readonly maxBound: Record<string, number> = { transceiver: 0, transmitter: 0, receiver: 0 };
  bindRefusals = 0;
  enquireLinks = 0;
  unbinds = 0;
  private readonly server: ReturnType<typeof smpp.createServer>;
  private nextId = 1;
  private submitCount = 0;
  private readonly fragments = new Map<string, Map<number, Buffer>>();

  /** Bound sessions that may receive DELIVER_SM (transceiver or receiver). */
  private readonly receivers = new Set<Session>();

  constructor(
    public behaviour: SimulatorBehaviour = {},
    private readonly print?: (line: string) => void,
    tls?: SimulatorTls,
  ) {
    this.server = smpp.createServer(tls ? { key: tls.key, cert: tls.cert } : {}, (session) => this.onSession(session));
    this.server.on('error', () => undefined);
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** A reply from a phone: DELIVER_SM (not a receipt) on every bound session; resolves when acknowledged. */
  sendMobileOriginated(from: string, to: string, text: string): Promise<number> {
    const body = Buffer.from(text, 'utf16le').swap16();
    const sessions = [...this.receivers];
    return Promise.all(
      sessions.map(
        (session) =>
          new Promise<number>((resolve) => {
            const pdu = new smpp.PDU('deliver_sm', {
              source_addr: from,
              source_addr_ton: 1,
              source_addr_npi: 1,
              destination_addr: to,
              esm_class: 0,
              data_coding: 8,
              short_message: body,
            });
            sendPdu(session, pdu, (resp: PDU) => resolve(resp.command_status));
          }),
      ),
    ).then((statuses) => statuses.filter((s) => s === 0).length);
  }

  /**
   * A phone answers: `text` from `from` to `to`, in GSM when it fits, else UCS-2, in as many parts as it takes.
   * Resolves with the number of acknowledged DELIVER_SMs (0 when nothing is bound to take it).
   */
  async reply(from: string, to: string, text: string): Promise<number> {
    const coding: Coding = isGsmText(text) ? 'gsm7' : 'ucs2';
    this.print?.(`reply from +${from.replace(/^\+/, '')} to ${to}: ${JSON.stringify(text)}`);
    if (this.receivers.size === 0) return 0;
    const statuses = await this.sendFromPhone({ from: from.replace(/^\+/, ''), to, text, coding });
    return statuses.filter((s) => s === 0).length;
  }

  /**
   * A reply from a phone, segmented as a phone does (src/sms segmenting): one DELIVER_SM per part, UDH parts with
   * esm_class 0x40, SAR parts with the three TLVs. `splitAfterBytes` cuts the text bytes at exact offsets instead
   * (a phone that splits inside a UCS-2 surrogate pair). Resolves with the statuses of the last session's acks.
   */
  async sendFromPhone(m: PhoneReply): Promise<number[]> {
    const coding: Coding = m.coding ?? 'gsm7';
    const dataCoding = coding === 'ucs2' ? 8 : coding === 'latin1' ? 3 : 0;
    const atoms = atomsIn(m.text, coding, undefined);
    if (!atoms) throw new Error(`text cannot be written in ${coding}`);
    const ref = m.ref ?? 0x2a;
    let parts: { udh: Buffer; body: Buffer; sar?: { ref: number; total: number; seq: number } }[];
    if (m.splitAfterBytes) {
      const bytes = Buffer.concat(atoms.map((a) => Buffer.from(a.bytes)));
      const cuts = [0, ...m.splitAfterBytes, bytes.length];
      const bodies = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end));
      const concat = m.concat ?? 'udh8';
      parts = bodies.map((body, i) => {
        const seq = i + 1;
        if (concat === 'sar') return { udh: Buffer.alloc(0), body, sar: { ref, total: bodies.length, seq } };
        const head = concat === 'udh16' ? [6, 0x08, 4, ref >> 8, ref & 0xff] : [5, 0x00, 3, ref & 0xff];
        return { udh: Buffer.from([...head, bodies.length, seq]), body };
      });
    } else {
      parts = segment(atoms, coding, m.concat ?? 'udh8', ref).parts;
    }
    let statuses: number[] = [];
    for (const [i, part] of parts.entries()) {
      if (m.onlyParts && !m.onlyParts.includes(i + 1)) continue;
      const fields = {
        source_addr: m.from,
        source_addr_ton: 1,
        source_addr_npi: 1,
        destination_addr: m.to,
        data_coding: dataCoding,
        esm_class: part.udh.length > 0 ? 0x40 : 0,
        short_message: Buffer.concat([part.udh, part.body]),
        ...(part.sar
          ? { sar_msg_ref_num: part.sar.ref, sar_total_segments: part.sar.total, sar_segment_seqnum: part.sar.seq }
          : {}),
      };
      statuses = await Promise.all(
        [...this.receivers].map(
          (session) =>
            new Promise<number>((resolve) =>
              sendPdu(session, new smpp.PDU('deliver_sm', fields), (r: PDU) => resolve(r.command_status)),
            ),
        ),
      );
    }
    return statuses;
  }

  /** ENQUIRE_LINK from the SMSC side on every bound session; resolves with how many were answered. */
  enquireLinkClients(timeoutMs = 2000): Promise<number> {
    return Promise.all(
      [...this.receivers].map(
        (session) =>
          new Promise<boolean>((resolve) => {
            const t = setTimeout(() => resolve(false), timeoutMs);
            sendPdu(session, new smpp.PDU('enquire_link', {}), () => {
              clearTimeout(t);
              resolve(true);
            });
          }),
      ),
    ).then((answers) => answers.filter(Boolean).length);
  }

  /** Drop every open connection (the SMSC crashed). */
  dropAll(): void {
    for (const s of [...this.server.sessions]) s.destroy();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onSession(session: Session): void {
    let systemType = '';
    let bound = false;
    let mode = '';
    let perConnection = 0;
    const record: SessionRecord = { id: this.sessions.length + 1, openedAt: Date.now(), submits: [] };
    this.sessions.push(record);
    this.sessionOf.set(session, record);
    session.socket.setNoDelay(true);
    session.on('error', () => session.destroy());
    session.on('close', () => {
      record.closedAt = Date.now();
      this.receivers.delete(session);
      if (bound) this.boundNow[mode] = (this.boundNow[mode] ?? 1) - 1;
      bound = false;
    });
    session.on('pdu', (pdu: PDU) => {
      try {
        switch (pdu.command) {
          case 'bind_transceiver':
          case 'bind_transmitter':
          case 'bind_receiver': {
            const b = this.behaviour;
            const ok =
              (b.systemId === undefined || pdu.system_id === b.systemId) &&
              (b.password === undefined || pdu.password === b.password);
            if (!ok) {
              this.bindRefusals++;
              const status = smpp.errors.ESME_RINVPASWD ?? 0x0e;
              const systemId = String(pdu.system_id);
              const why = systemId === b.systemId ? 'wrong password' : `unknown system_id "${systemId}"`;
              this.print?.(`${pdu.command} refused: ${why}: ${statusText(status)}`);
              sendPdu(session, pdu.response({ command_status: status }));
              return;
            }
            this.binds++;
            if (!bound) {
              mode = pdu.command.slice('bind_'.length);
              const n = (this.boundNow[mode] ?? 0) + 1;
              this.boundNow[mode] = n;
              this.maxBound[mode] = Math.max(this.maxBound[mode] ?? 0, n);
            }
            bound = true;
            record.boundAt ??= Date.now();
            if (pdu.command !== 'bind_transmitter') this.receivers.add(session);
            systemType = String(pdu.system_type ?? '');
            sendPdu(session, pdu.response({ system_id: 'SMTP2SMS-SIM' }));
            return;
          }
          case 'enquire_link':
            this.enquireLinks++;
            if (!this.behaviour.silent) sendPdu(session, pdu.response());
            return;
          case 'unbind':
            this.unbinds++;
            sendPdu(session, pdu.response());
            session.close();
            return;
          case 'submit_sm':
            if (!bound) {
              const status = smpp.errors.ESME_RINVBNDSTS ?? 4;
              this.print?.(`submit_sm to ${String(pdu.destination_addr)} refused: not bound: ${statusText(status)}`);
              sendPdu(session, pdu.response({ command_status: status }));
              return;
            }
            perConnection++;
            this.onSubmit(session, pdu, systemType, perConnection);
            return;
          case 'deliver_sm_resp':
          case 'enquire_link_resp':
            return;
          default:
            sendPdu(session, pdu.response({ command_status: smpp.errors.ESME_RINVCMDID ?? 3 }));
        }
      } catch {
        session.destroy();
      }
    });
  }

  private formatId(n: number, style: 'decimal' | 'hex' | 'hex-upper-zeros'): string {
    if (style === 'decimal') return String(n);
    if (style === 'hex') return n.toString(16);
    return n.toString(16).toUpperCase().padStart(10, '0');
  }

  private onSubmit(session: Session, pdu: PDU, systemType: string, nth: number): void {
    const b = this.behaviour;
    this.submitCount++;
    if (b.dropAfter && nth % b.dropAfter === 0) {
      session.destroy();
      return;
    }
    const destination = String(pdu.destination_addr ?? '');
    let status = 0;
    let why = '';
    if (b.throttleEvery && this.submitCount % b.throttleEvery === 0) [status, why] = [0x58, 'throttled'];
    else if (b.refusePrefixes?.some((p) => destination.startsWith(p))) [status, why] = [0x0b, 'refused prefix'];
    else [status, why] = [b.submitStatus?.(destination) ?? 0, 'submitStatus for this destination'];
    if (status !== 0) this.print?.(`submit_sm to ${destination} refused: ${why}: ${statusText(status)}`);
    const n = this.nextId++;
    const messageId = status === 0 ? this.formatId(n, b.idFormat ?? 'hex') : undefined;
    const from = this.sessionOf.get(session);
    from?.submits.push(Date.now());
    const record: RecordedSubmit = {
      at: Date.now(),
      session: from?.id ?? 0,
      systemType,
      pdu: {
        source_addr: String(pdu.source_addr ?? ''),
        source_addr_ton: Number(pdu.source_addr_ton),
        source_addr_npi: Number(pdu.source_addr_npi),
        destination_addr: destination,
        dest_addr_ton: Number(pdu.dest_addr_ton),
        dest_addr_npi: Number(pdu.dest_addr_npi),
        esm_class: Number(pdu.esm_class),
        data_coding: Number(pdu.data_coding),
        registered_delivery: Number(pdu.registered_delivery),
        short_message: Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0),
        message_payload: Buffer.isBuffer(pdu.message_payload) ? pdu.message_payload : undefined,
        sar_msg_ref_num: pdu.sar_msg_ref_num as number | undefined,
        sar_total_segments: pdu.sar_total_segments as number | undefined,
        sar_segment_seqnum: pdu.sar_segment_seqnum as number | undefined,
      },
      status,
      messageId,
    };
    const respond = () => {
      this.submits.push(record);
      if (status === 0) this.assemble(record);
      const receipt = status === 0 && (record.pdu.registered_delivery & 0x03) !== 0;
      if (receipt && b.receiptBeforeResp) this.sendReceipt(session, record, n);
      sendPdu(session, pdu.response({ command_status: status, ...(messageId ? { message_id: messageId } : {}) }));
      if (receipt && !b.receiptBeforeResp) this.sendReceipt(session, record, n);
    };
    if (b.delayMs) setTimeout(respond, b.delayMs);
    else respond();
  }

  private sendReceipt(session: Session, record: RecordedSubmit, n: number): void {
    const stat = this.behaviour.receiptStat?.(record.pdu.destination_addr) ?? 'DELIVRD';
    if (stat === 'none') return;
    const style = this.behaviour.receiptIdFormat ?? 'same';
    const id = style === 'same' ? (record.messageId as string) : this.formatId(n, style);
    const submitted = receiptDate(new Date(record.at));
    const now = receiptDate(new Date());
    const err = stat === 'DELIVRD' ? '000' : stat === 'UNDELIV' ? '251' : '001';
    const text = `id:${id} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:${submitted} done date:${now} stat:${stat} err:${err} text:`;
    const send = () => {
      // Receipts go to a receiver-capable bind: the same transceiver, or the receiver of a transmitter/receiver pair.
      const target = this.receivers.has(session) ? session : [...this.receivers][0];
      if (!target || target.socket.destroyed) return;
      const receipt = new smpp.PDU('deliver_sm', {
        source_addr: record.pdu.destination_addr,
        source_addr_ton: 1,
        source_addr_npi: 1,
        destination_addr: record.pdu.source_addr,
        esm_class: 0x04,
        data_coding: 0,
        short_message: Buffer.from(text, 'latin1'),
        receipted_message_id: id,
        message_state: MESSAGE_STATE[stat] ?? 7,
      });
      sendPdu(target, receipt);
    };
    // Before the resp means written to the socket ahead of it, not after a timer.
    if (this.behaviour.receiptBeforeResp) send();
    else setTimeout(send, this.behaviour.receiptDelayMs ?? 10);
  }

  /** Reassemble concatenated parts (UDH or SAR) and record whole messages. */
  private assemble(r: RecordedSubmit): void {
    const p = r.pdu;
    let body = messageBytes(p);
    let concat: Concat | undefined;
    if (p.esm_class & 0x40 && p.short_message.length > 0) {
      const u = udhConcat(p.short_message);
      concat = u.concat;
      body = p.short_message.subarray(u.udhLength);
    } else if (
      p.sar_msg_ref_num !== undefined &&
      p.sar_total_segments !== undefined &&
      p.sar_segment_seqnum !== undefined
    ) {
      concat = { ref: p.sar_msg_ref_num, total: p.sar_total_segments, seq: p.sar_segment_seqnum };
    }
    const decode = (bytes: Buffer) => decodeBytes(bytes, p.data_coding, { systemType: r.systemType });
    const done = (text: string, parts: number, ref: number | undefined) => {
      const sms: ReceivedSms = {
        at: r.at,
        to: p.destination_addr,
        from: p.source_addr,
        dataCoding: p.data_coding,
        encoding: ENCODING_NAME[p.data_coding] ?? `data_coding ${p.data_coding}`,
        parts,
        text,
        ref,
      };
      this.received.push(sms);
      this.print?.(
        `SMS to +${sms.to}${sms.from ? ` from ${sms.from}` : ''}: ${sms.encoding}, ${parts} part${parts === 1 ? '' : 's'}: ${JSON.stringify(text)}`,
      );
      const auto = this.behaviour.autoReply;
      if (auto && sms.from) {
        setTimeout(() => void this.reply(sms.to, sms.from, auto.text).catch(() => undefined), auto.delayMs).unref();
      }
    };
    if (!concat || concat.total <= 1) {
      done(decode(body), 1, concat?.ref);
      return;
    }
    const key = `${p.destination_addr}/${p.source_addr}/${concat.ref}/${concat.total}`;
    const got = this.fragments.get(key) ?? new Map<number, Buffer>();
    got.set(concat.seq, body);
    this.fragments.set(key, got);
    if (got.size < concat.total) return;
    this.fragments.delete(key);
    const ordered = Array.from({ length: concat.total }, (_, i) => got.get(i + 1) ?? Buffer.alloc(0));
    done(ordered.map(decode).join(''), concat.total, concat.ref);
  }
}
