/** What the benchmark scripts share: a lean SMTP client, /proc readings, percentiles, and BENCHMARKS.md sections. */
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

/** A minimal pipelining SMTP client: one transaction at a time per connection, MAIL/RCPT/DATA in one write. */
export class Lane {
  private buf = '';
  private waiting: Array<(code: number) => void> = [];
  readonly closed: Promise<void>;
  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    // A server stopped right after QUIT may reset the connection: that ends the lane, it is not a failure.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        // A server that hangs up (a 421, a timeout) answers every reply still awaited with 0.
        for (const waiting of this.waiting.splice(0)) waiting(0);
        resolve();
      }),
    );
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      for (let nl = this.buf.indexOf('\r\n'); nl >= 0; nl = this.buf.indexOf('\r\n')) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 2);
        if (line[3] === ' ') this.waiting.shift()?.(Number(line.slice(0, 3)));
      }
    });
  }
  static async open(port: number): Promise<Lane> {
    const socket = net.connect(port, '127.0.0.1');
    const lane = new Lane(socket);
    await lane.reply();
    socket.write('EHLO bench.example\r\n');
    await lane.reply();
    return lane;
  }
  private reply(): Promise<number> {
    if (this.socket.destroyed) return Promise.resolve(0);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  get open(): boolean {
    return !this.socket.destroyed;
  }
  /** One mail; resolves with the final reply code and the time the final dot went out (0: the server hung up). */
  async send(to: string, body: string, from = 'bench@example.org'): Promise<{ code: number; dataEnd: number }> {
    const replies = [this.reply(), this.reply(), this.reply()];
    this.socket.write(`MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
    const codes = await Promise.all(replies);
    if (codes[2] !== 354) return { code: codes[2] ?? 0, dataEnd: performance.now() };
    const final = this.reply();
    this.socket.write(`${body}\r\n.\r\n`);
    const dataEnd = performance.now();
    return { code: await final, dataEnd };
  }
  close(): void {
    this.socket.end('QUIT\r\n');
  }
}

export function rss(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function commitId(): string {
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * Each bench script owns one section of BENCHMARKS.md, between `<!-- NAME:start -->` and `<!-- NAME:end -->`, so a
 * run of one script keeps the others' figures. A missing section is appended.
 */
export function writeSection(name: string, markdown: string, file = 'BENCHMARKS.md'): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const i = old.indexOf(start);
  const j = old.indexOf(end);
  const next = i >= 0 && j > i ? old.slice(0, i) + block + old.slice(j + end.length) : `${old.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

const CLK_TCK = (() => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** user + system CPU seconds from a /proc stat line (fields 14 and 15, after the command name). */
const statCpu = (stat: string) => {
  const fields = stat.split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
};

/** CPU seconds of a whole process, all its threads (ended ones too). */
export function processCpu(pid: number): number {
  return statCpu(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** CPU seconds of each live thread of a process, by thread id. */
export function threadCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), statCpu(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended between listing and reading
    }
  }
  return out;
}
