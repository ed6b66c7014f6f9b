/**
 * `npm run bench:hostile`: a soak of hostile mails beside a steady trickle of ordinary alerts. What it shows: no
 * hostile mail holds up an alert (the worst "250" of the alerts while the hostile load runs), and what the hostile
 * load does to the daemon's memory, during and after a quiet spell. Writes its section of BENCHMARKS.md.
 * Sizes: BENCH_HOSTILE (10 000 mails), BENCH_HOSTILE_QUIET_S (60).
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { spawnDaemon, tempDir, testConfig } from '../helpers/daemon-process.js';
import { hostileMails } from './hostile-mails.js';
import { commitId, fmt, Lane, percentile, rss, waitUntil, writeSection } from './lib.js';

const HOSTILE = Number(process.env.BENCH_HOSTILE ?? 10_000);
const QUIET_S = Number(process.env.BENCH_HOSTILE_QUIET_S ?? 60);
const CONNECTIONS = 8;
/** One ordinary alert every this many ms, on a connection of its own. */
const ALERT_EVERY_MS = 250;

const stuff = (body: string) => body.replace(/^\./gm, '..');
const rcpt = (id: number) => `+7999${String(1_000_000 + id).padStart(7, '0')}@sms.example.test`;

async function main(): Promise<void> {
  // BENCH_HOSTILE_KINDS=0,3 runs only those shapes (to find which one costs what).
  const only = process.env.BENCH_HOSTILE_KINDS?.split(',').map(Number);
  const kinds = hostileMails().filter((_, i) => !only || only.includes(i));
  console.log(
    `bench:hostile: ${HOSTILE} hostile mails over ${CONNECTIONS} connections (${kinds.length} kinds), an alert every ` +
      `${ALERT_EVERY_MS} ms beside them; ${cpus().length} cores, node ${process.version}`,
  );
  const sim = new SmscSimulator();
  const smscPort = await sim.listen();
  const dir = tempDir('smtp2sms-hostile-');
  // The shipped defaults but for where things are: log level, limits and timeouts as an operator gets them.
  const d = await spawnDaemon(testConfig(smscPort, dir, { smtp: { max_clients: 100 } }), dir);
  const pid = d.child.pid!;
  try {
    await waitUntil(() => sim.binds >= 1, 10_000, 'bind');
    const startMb = rss(pid).rssMb;
    let maxMb = startMb;
    const sampler = setInterval(() => (maxMb = Math.max(maxMb, rss(pid).rssMb)), 100);

    const codes = new Map<string, number>();
    const byKind = new Map<string, Map<number, number>>();
    let next = 0;
    let hostileDone = false;
    const hostile = Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        let lane = await Lane.open(d.port);
        for (;;) {
          const i = next++;
          if (i >= HOSTILE) break;
          if (!lane.open) lane = await Lane.open(d.port);
          const kind = kinds[i % kinds.length]!;
          const r = await lane.send(rcpt(i), stuff(kind.body(i)));
          const perKind = byKind.get(kind.name) ?? new Map<number, number>();
          perKind.set(r.code, (perKind.get(r.code) ?? 0) + 1);
          byKind.set(kind.name, perKind);
          codes.set(String(r.code), (codes.get(String(r.code)) ?? 0) + 1);
        }
        lane.close();
      }),
    ).then(() => {
      hostileDone = true;
    });

    // The alerts: each waits for its 250 before the next is due, as a monitoring mailer does.
    const alertLatency: number[] = [];
    const alertTexts: string[] = [];
    let alertLane = await Lane.open(d.port);
    const t0 = performance.now();
    for (let n = 0; !hostileDone; n++) {
      const due = t0 + n * ALERT_EVERY_MS;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!alertLane.open) alertLane = await Lane.open(d.port);
      const text = `alert ${n}: web${n % 7} DOWN since 03:00`;
      const r = await alertLane.send(
        `+79990000${String(n % 1000).padStart(3, '0')}@sms.example.test`,
        `From: zabbix@example.org\r\nSubject: PROBLEM\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}`,
        'zabbix@example.org',
      );
      if (r.code !== 250) throw new Error(`bench:hostile: alert ${n} got ${r.code}`);
      alertLatency.push(performance.now() - r.dataEnd);
      alertTexts.push(text);
    }
    await hostile;
    const elapsedS = (performance.now() - t0) / 1000;
    alertLane.close();
    await waitUntil(
      () => alertTexts.every((t) => sim.received.some((s) => s.text.includes(t))),
      60_000,
      'every alert at the SMSC',
    );
    clearInterval(sampler);
    const duringMb = maxMb;
    const endMb = rss(pid).rssMb;
    console.log(`hostile load done in ${fmt(elapsedS)} s; waiting ${QUIET_S} s of quiet`);
    await new Promise((r) => setTimeout(r, QUIET_S * 1000));
    const afterMb = rss(pid).rssMb;

    const worst = Math.max(...alertLatency);
    const p99 = percentile(alertLatency, 99);
    const p50 = percentile(alertLatency, 50);
    const answers = [...codes]
      .sort()
      .map(([c, n]) => `${c}: ${n}`)
      .join(', ');
    console.log(`answers to the hostile mails: ${answers}`);
    console.log(
      `alerts: ${alertLatency.length}, every one reached the SMSC; DATA end → 250 p50 ${fmt(p50, 1)} ms, ` +
        `p99 ${fmt(p99, 1)} ms, worst ${fmt(worst, 1)} ms`,
    );
    console.log(
      `daemon RSS: ${fmt(startMb, 1)} MB before, ${fmt(duringMb, 1)} MB max during, ${fmt(endMb, 1)} MB at the end, ` +
        `${fmt(afterMb, 1)} MB after ${QUIET_S} s of quiet`,
    );
    const kindRows = kinds
      .map((k) => {
        const m = byKind.get(k.name) ?? new Map<number, number>();
        const cells = [...m].sort().map(([c, n]) => `${c === 0 ? 'hung up' : c} × ${n}`);
        return `| ${k.name} | ${k.size(0) >= 1024 ? `${fmt(k.size(0) / 1024)} KB` : `${k.size(0)} B`} | ${cells.join(', ')} |`;
      })
      .join('\n');
    writeSection(
      'hostile',
      `## Hostile mails beside ordinary alerts

Command: \`npm run bench:hostile\` (\`BENCH_HOSTILE=${HOSTILE} BENCH_HOSTILE_QUIET_S=${QUIET_S}\`). Machine: ${cpus().length} cores,
Node.js ${process.version}, commit ${commitId()}, ${new Date().toISOString().slice(0, 10)}. The daemon runs with its shipped
defaults (log level info, limits, timeouts) as a child process; ${fmt(HOSTILE)} hostile mails go over ${CONNECTIONS}
connections as fast as the daemon answers them, while one more connection sends an ordinary alert every
${ALERT_EVERY_MS} ms and waits for its 250. The hostile load took ${fmt(elapsedS)} s.

| figure | value | target |
| --- | --- | --- |
| alerts sent during the hostile load, all reached the SMSC | ${fmt(alertLatency.length)} | all |
| alert DATA end → 250: p50 / p99 / worst | ${fmt(p50, 1)} / ${fmt(p99, 1)} / ${fmt(worst, 1)} ms | no alert held up |
| daemon RSS before / max during / at the end | ${fmt(startMb, 1)} / ${fmt(duringMb, 1)} / ${fmt(endMb, 1)} MB | ≤ 256 during |
| daemon RSS after ${QUIET_S} s of quiet | ${fmt(afterMb, 1)} MB | < 200 |

| hostile mail | size | answers |
| --- | --- | --- |
${kindRows}
`,
    );
    console.log('written to BENCHMARKS.md');
  } finally {
    await d.kill('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
