/**
 * Where the daemon's CPU goes, per message, from either
 * - `perf script` text of on-CPU samples (`perf record -e cpu-clock -g`, the daemon run with --perf-basic-prof):
 *   CPU only, every thread (main, work, V8's and libuv's helpers), native frames (SQLite, syscalls, GC) included;
 * - or V8 CPU profiles (`--cpu-prof`, one file per JS thread): wall time while the thread runs JS, so a blocking
 *   call (fsync inside a SQLite commit) counts as busy.
 * Every sample is charged to the nearest frame on its stack that belongs to a known part (smtp-server, mailparser,
 * the spool, node-smpp, the logger…), so Node's own buffer and malloc work counts for whoever called it.
 *
 *   npx tsx test/bench/profile-summary.ts <messages> perf.txt           (perf script -F tid,period,ip,sym,dso)
 *   npx tsx test/bench/profile-summary.ts <messages> <file.cpuprofile>...
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins, on the url (or the name, for V8's own entries). Order: the specific before the general. */
const PARTS: Array<[string, RegExp]> = [
  ['idle', /^\(idle\)$/],
  ['GC', /^\(garbage collector\)$|Scaveng|ConcurrentMarking|MarkCompact|Sweeper|IncrementalMarking|internal::Heap::/],
  ['JIT compiler', /v8::internal::compiler::|v8::internal::maglev|v8::internal::Compiler::|Builtins_CompileLazy/],
  ['logging (pino, sonic-boom, src/log)', /node_modules\/(pino|@pinojs|sonic-boom|fast-redact)|\/(src|dist)\/ops\/log/],
  ['SMTP protocol (smtp-server)', /node_modules\/smtp-server|\/(src|dist)\/smtp\//],
  [
    'mail parsing (src/mail, mailparser, mailsplit, libmime, iconv)',
    /node_modules\/(mailparser|@zone-eu|libmime|libqp|libbase64|iconv|encoding-japanese)|\/(src|dist)\/mail\//,
  ],
  ['provider rules (src/policy)', /\/(src|dist)\/policy\//],
  ['SMS text (src/sms, libphonenumber)', /\/(src|dist)\/sms\/|libphonenumber/],
  ['spool (better-sqlite3, SQLite, src/spool)', /better-sqlite3|\/(src|dist)\/spool\/|sqlite3|walChecksum/],
  ['SMPP (node-smpp, src/smpp)', /node_modules\/smpp\/|\/(src|dist)\/smpp\//],
  ['thread hand-off (src/worker, postMessage)', /\/(src|dist)\/worker\/|internal\/worker|MessagePort|worker::Message/],
  ['metrics (prom-client, src/metrics)', /prom-client|\/(src|dist)\/ops\/metric/],
  ['other own code (src/)', /\/(src|dist)\//],
  ['other libraries', /node_modules\//],
  ['socket I/O (reads, writes, syscalls)', /LibuvStreamWrap|StreamBase|uv__read|uv__write|uv__stream|TCPWrap/],
  ['event loop (epoll, timers, wake-ups)', /uv__io_poll|uv_run|epoll_|uv__run_timers/],
];

function partOf(url: string, name: string): string | undefined {
  const key = url || name;
  return PARTS.find(([, re]) => re.test(key))?.[0];
}

const OTHER = 'other (Node.js and V8 runtime, malloc)';

/**
 * The table of parts (µs per message on the main thread, the work thread, the helpers; total; share) and the
 * heaviest leaf functions, as markdown lines.
 */
export function summarize(messages: number, files: string[]): { table: string[]; top: string[] } {
  const out: string[] = [];
  /** µs by part and by thread kind (main / work / helpers), and by leaf function. */
  const byPart = new Map<string, number[]>();
  const bySelf = new Map<string, number>();
  const charge = (part: string, thread: number, us: number, leaf: string) => {
    const row = byPart.get(part) ?? [0, 0, 0];
    row[thread]! += us;
    byPart.set(part, row);
    if (part !== 'idle') bySelf.set(leaf, (bySelf.get(leaf) ?? 0) + us);
  };

  if (files[0]!.endsWith('.cpuprofile')) {
    files.forEach((file, fileIndex) => {
      const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
      const parent = new Map<number, number>();
      const node = new Map<number, ProfileNode>();
      for (const n of p.nodes) {
        node.set(n.id, n);
        for (const c of n.children ?? []) parent.set(c, n.id);
      }
      const owner = new Map<number, string>();
      const ownerOf = (id: number): string => {
        const known = owner.get(id);
        if (known) return known;
        const n = node.get(id)!;
        const up = parent.get(id);
        const result = partOf(n.callFrame.url, n.callFrame.functionName) ?? (up === undefined ? OTHER : ownerOf(up));
        owner.set(id, result);
        return result;
      };
      p.samples.forEach((id, i) => {
        const f = node.get(id)!.callFrame;
        const file = f.url.replace(/^.*\/(node_modules|src|dist)\//, '$1/');
        const leaf = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
        // --cpu-prof names the main thread's file first (…001), the work thread's next.
        charge(ownerOf(id), Math.min(fileIndex, 1), p.timeDeltas[i] ?? 0, leaf);
      });
    });
  } else {
    // perf script -F tid,period,ip,sym,dso: "tid period" then one "\taddr symbol (dso)" line per frame, leaf first.
    const samples: Array<{ tid: number; us: number; frames: string[] }> = [];
    for (const line of readFileSync(files[0]!, 'utf8').split('\n')) {
      const frame = () =>
        line
          .trim()
          .replace(/^[0-9a-f]+ /, '')
          .replace(/ \([^)]*\)$/, '');
      if (line.startsWith('\t')) samples.at(-1)?.frames.push(frame());
      else if (line.trim()) {
        const [tid, period] = line.trim().split(/\s+/);
        samples.push({ tid: Number(tid), us: Number(period) / 1000, frames: [] });
      }
    }
    const perThread = new Map<number, number>();
    for (const s of samples) perThread.set(s.tid, (perThread.get(s.tid) ?? 0) + s.us);
    // The main thread's id is the process id, the lowest; the work thread is the busiest other one.
    const main = Math.min(...perThread.keys());
    const work = [...perThread].filter(([t]) => t !== main).sort((a, b) => b[1] - a[1])[0]?.[0];
    for (const s of samples) {
      const part = s.frames.map((f) => partOf('', f)).find((x) => x !== undefined) ?? OTHER;
      charge(part, s.tid === main ? 0 : s.tid === work ? 1 : 2, s.us, s.frames[0] ?? '?');
    }
  }

  byPart.delete('idle');
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const total = sum([...byPart.values()].map(sum));
  const us = (x: number) => (x / messages).toFixed(0);
  out.push('| part | main | work | helpers | µs per message | share |\n| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [part, row] of [...byPart].sort((a, b) => sum(b[1]) - sum(a[1]))) {
    out.push(`| ${part} | ${row.map(us).join(' | ')} | ${us(sum(row))} | ${((100 * sum(row)) / total).toFixed(0)}% |`);
  }
  const cols = [0, 1, 2].map((i) => us(sum([...byPart.values()].map((r) => r[i]!))));
  out.push(`| all | ${cols.join(' | ')} | ${us(total)} | 100% |`);
  out.push('\nheaviest functions by self time (µs per message):');
  for (const [where, t] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    out.push(`${(t / messages).toFixed(1).padStart(7)}  ${where.slice(0, 150)}`);
  }
  const split = out.indexOf('\nheaviest functions by self time (µs per message):');
  return { table: out.slice(0, split), top: out.slice(split + 1) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [messagesArg, ...files] = process.argv.slice(2);
  const messages = Number(messagesArg);
  if (!messages || files.length === 0) {
    console.error('usage: profile-summary.ts <messages> perf.txt | <file.cpuprofile>...');
    process.exit(2);
  }
  const { table, top } = summarize(messages, files);
  console.log([...table, '', 'heaviest functions by self time (µs per message):', ...top].join('\n'));
}
