/**
 * A raw SMTP/LMTP client over a real socket: sends exactly what a test says and returns every reply line, so
 * tests can assert codes, enhanced codes and texts.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface SmtpReply {
  code: number;
  /** Text of the last line (with the enhanced code). */
  text: string;
  lines: string[];
}

export class RawSmtp {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private closed = false;

  private constructor(private socket: net.Socket | tls.TLSSocket) {
    this.attach();
  }

  private attach() {
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => {
      this.buffer += d;
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async connect(
    port: number,
    host = '127.0.0.1',
    localAddress?: string,
  ): Promise<{ client: RawSmtp; greeting: SmtpReply }> {
    const socket = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) });
    const client = new RawSmtp(socket);
    const greeting = await client.read();
    return { client, greeting };
  }

  static async connectTls(port: number, host = '127.0.0.1'): Promise<{ client: RawSmtp; greeting: SmtpReply }> {
    const socket = tls.connect({ port, host, rejectUnauthorized: false });
    const client = new RawSmtp(socket);
    const greeting = await client.read();
    return { client, greeting };
  }

  /** Read one complete (possibly multi-line) reply. */
  async read(timeoutMs = 20_000): Promise<SmtpReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.buffer.split('\r\n');
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3} /.test(lines[i] as string) || (lines[i] as string).length === 3) {
          const reply = lines.slice(0, i + 1);
          this.buffer = lines.slice(i + 1).join('\r\n');
          const last = reply.at(-1) as string;
          return { code: Number(last.slice(0, 3)), text: last.slice(4), lines: reply };
        }
      }
      if (this.closed) return { code: 0, text: 'connection closed', lines: [] };
      if (Date.now() > deadline) throw new Error(`no SMTP reply within ${timeoutMs} ms; buffer: ${this.buffer}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async cmd(line: string): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    return this.read();
  }

  /** DATA with a body (dot-stuffed here); returns the reply to DATA and the final reply (one per LMTP rcpt). */
  async data(message: string | Buffer, finalReplies = 1): Promise<{ start: SmtpReply; end: SmtpReply[] }> {
    const start = await this.cmd('DATA');
    if (start.code !== 354) return { start, end: [] };
    const body = (Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8'))
      .toString('latin1')
      .replace(/\r?\n/g, '\r\n');
    const stuffed = body.replace(/^\./gm, '..');
    this.write(Buffer.from(`${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1'));
    const end: SmtpReply[] = [];
    for (let i = 0; i < finalReplies; i++) end.push(await this.read());
    return { start, end };
  }

  async starttls(): Promise<SmtpReply> {
    const r = await this.cmd('STARTTLS');
    if (r.code !== 220) return r;
    this.socket.removeAllListeners('data');
    this.socket = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      (this.socket as tls.TLSSocket).once('secureConnect', resolve);
      this.socket.once('error', reject);
    });
    this.attach();
    return r;
  }

  close(): void {
    this.socket.destroy();
  }

  /** Hang up with a TCP reset instead of a FIN. */
  reset(): void {
    if (this.socket instanceof net.Socket && !(this.socket instanceof tls.TLSSocket)) this.socket.resetAndDestroy();
    else this.socket.destroy();
  }
}

export const authPlain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');

/** A full transaction: EHLO, MAIL, RCPTs, DATA. Returns every reply. */
export async function sendMail(
  port: number,
  opts: { from?: string; to: string[]; body: string | Buffer; auth?: [string, string]; lmtp?: boolean },
): Promise<{ rcpt: SmtpReply[]; data: SmtpReply[]; mail: SmtpReply }> {
  const { client } = await RawSmtp.connect(port);
  try {
    await client.cmd(`${opts.lmtp ? 'LHLO' : 'EHLO'} test.example`);
    if (opts.auth) {
      const a = await client.cmd(`AUTH PLAIN ${authPlain(...opts.auth)}`);
      if (a.code !== 235) throw new Error(`AUTH failed: ${a.code} ${a.text}`);
    }
    const mail = await client.cmd(`MAIL FROM:<${opts.from ?? 'alerts@example.org'}>`);
    const rcpt: SmtpReply[] = [];
    for (const to of opts.to) rcpt.push(await client.cmd(`RCPT TO:<${to}>`));
    const accepted = rcpt.filter((r) => r.code === 250).length;
    if (mail.code !== 250 || accepted === 0) return { rcpt, data: [], mail };
    const { start, end } = await client.data(opts.body, opts.lmtp ? accepted : 1);
    await client.cmd('QUIT');
    return { rcpt, data: start.code === 354 ? end : [start], mail };
  } finally {
    client.close();
  }
}
