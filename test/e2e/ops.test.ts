/** Running it as an operator would: the systemd unit, demo mode, metrics and health, SIGHUP reload. */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '../../src/ops/metrics.js';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { SMS_STATES } from '../../src/spool/types.js';
import { CLI, cliNodeEnv, cliNodeFlags } from '../helpers/cli.js';
import {
  freePort,
  spawnDaemon,
  stopAfterEach,
  tempDir,
  testConfig,
  waitFor,
  type DaemonProcess,
} from '../helpers/daemon-process.js';
import { repeatedKeys } from '../helpers/log-lines.js';
import { authPlain, RawSmtp, sendMail } from '../helpers/smtp-client.js';

let sim: SmscSimulator | undefined;
let daemon: DaemonProcess | undefined;
const started = stopAfterEach();

describe('systemd unit', () => {
  const unit = readFileSync('systemd/smtp2sms.service', 'utf8');

  it('has the hardening and lifecycle directives', () => {
    for (const line of [
      'DynamicUser=yes',
      'StateDirectory=smtp2sms',
      'ConfigurationDirectory=smtp2sms',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
      'AmbientCapabilities=CAP_NET_BIND_SERVICE',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'SystemCallFilter=@system-service',
      'Restart=on-failure',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'RestartForceExitStatus=SIGHUP',
    ])
      expect(unit).toContain(line);
    // The stop timeout leaves room for the default drain (smpp.shutdown_timeout_s: 10) and SMTP's 421.
    expect(Number(/TimeoutStopSec=(\d+)/.exec(unit)![1])).toBeGreaterThan(10 + 5);
  });

  it('starts node with the flags and environment the CLI asks for, as npm start and the unit’s bin do', () => {
    const flags = cliNodeFlags();
    expect(flags).toContain('--max-semi-space-size=2');
    expect(cliNodeEnv()).toEqual({ MALLOC_ARENA_MAX: '2' });
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts
      .start!;
    // exec: the shell becomes node (env execs it in turn), so what npm forwards (SIGTERM, SIGINT) reaches the daemon.
    expect(start).toMatch(new RegExp(`^exec env MALLOC_ARENA_MAX=2 node ${flags.join(' ')} dist/cli\\.js serve `));
    // The unit runs the bin, whose first line (cliNodeFlags, cliNodeEnv) starts node: see systemd-unit.test.ts.
    expect(unit).toMatch(/^ExecStart=\/opt\/smtp2sms\/dist\/cli\.js serve /m);
  });

  it.runIf(existsSync('/usr/bin/systemd-analyze'))('systemd-analyze verify finds no line it cannot parse', () => {
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', 'systemd/smtp2sms.service'], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/Failed to parse|Unknown key|Unknown section|ignoring/i);
  });

  it.runIf(existsSync('/usr/bin/systemd-analyze'))('systemd-analyze security rates it 2.0 or lower', () => {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', 'systemd/smtp2sms.service'], {
      encoding: 'utf8',
    });
    const level = Number(/Overall exposure level for smtp2sms\.service: ([\d.]+)/.exec(out)![1]);
    expect(level).toBeLessThanOrEqual(2.0);
  });
});

describe('demo mode', () => {
  it('the example config starts with the embedded simulator, which prints the SMS', async () => {
    const dir = tempDir();
    const config = YAML.parse(readFileSync('config/smtp2sms.example.yaml', 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    const smtpPort = await freePort();
    const smscPort = await freePort();
    config.smtp!.port = smtpPort;
    config.smpp!.url = `smpp://127.0.0.1:${smscPort}`;
    config.simulator!.port = smscPort;
    config.spool!.path = join(dir, 'spool.sqlite');
    config.metrics!.port = 0;
    config.web!.port = await freePort();
    const file = join(dir, 'demo.yaml');
    writeFileSync(file, YAML.stringify(config));
    const child = spawn(process.execPath, [CLI, 'serve', '--config', file, '--log-pretty'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('smtp2sms listening'), 15_000, 'the daemon');
      const r = await sendMail(smtpPort, {
        to: ['+79991234567@sms.localhost'],
        body: 'Subject: hello\r\n\r\nfrom the demo\r\n',
      });
      expect(r.data[0]!.code).toBe(250);
      await waitFor(
        () => out.includes('SMS to +79991234567: GSM, 1 part: "hello\\nfrom the demo"'),
        15_000,
        'the printed SMS',
      );
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});

describe('metrics and health', () => {
  it('/metrics has every documented series after traffic; /healthz needs the spool and a bind; /readyz', async () => {
    sim = started.simulator(new SmscSimulator());
    const port = await sim.listen();
    const dir = tempDir();
    const metricsPort = await freePort();
    // A smarthost nobody listens on: the outbox (and its metrics) runs; no test mail makes a report.
    const outbound = { smtp_url: `smtp://127.0.0.1:${await freePort()}` };
    daemon = started.daemon(
      await spawnDaemon(testConfig(port, dir, { metrics: { port: metricsPort }, outbound }), dir),
    );
    await waitFor(() => sim!.binds === 1, 10_000, 'bind');
    await sendMail(daemon.port, { to: ['+79991234567@sms.example.test'], body: 'Subject: m\r\n\r\nmetrics test\r\n' });
    await sendMail(daemon.port, { to: ['+79991234567@sms.example.test'], body: 'Subject: m\r\n\r\nmetrics test\r\n' });
    await sendMail(daemon.port, { to: ['bad@sms.example.test'], body: 'x' });
    await waitFor(() => sim!.received.length === 1, 10_000, 'the SMS');
    await new Promise((r) => setTimeout(r, 300));
    const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const text = await scrape();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    // Every series the daemon registers is one METRIC_NAMES lists and the README's table documents, and back.
    const own = [...types.keys()].filter((n) => n.startsWith('smtp2sms_'));
    expect(own.sort()).toEqual([...METRIC_NAMES].sort());
    const table = /<!-- metrics:start -->([\s\S]*?)<!-- metrics:end -->/.exec(readFileSync('README.md', 'utf8'))![1]!;
    expect(own.filter((n) => !table.includes(`| \`${n}`))).toEqual([]);
    // The process's own metrics under their standard names (no smtp2sms_process_process_…), in the table as a row.
    expect([...types.keys()].filter((n) => !/^(smtp2sms|process|nodejs)_/.test(n))).toEqual([]);
    expect(types.get('process_cpu_seconds_total')).toBe('counter');
    expect(types.get('process_resident_memory_bytes')).toBe('gauge');
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(table).toContain('| `process_*`, `nodejs_*` |');
    expect(types.get('smtp2sms_smpp_reconnects_total')).toBe('counter');
    expect(types.get('smtp2sms_outbox_sent_total')).toBe('counter');
    expect(text).toMatch(/smtp2sms_mails_total\{outcome="accepted",code="250",enhanced="2.0.0"\} 1/);
    expect(text).toMatch(/smtp2sms_mails_total\{outcome="refused",code="550",enhanced="5.7.1"\} 1/);
    expect(text).toMatch(/smtp2sms_recipients_total\{outcome="refused",code="550"\} 1/);
    expect(text).toMatch(/smtp2sms_sms_parts_submitted_total\{encoding="GSM"\} 1/);
    expect(text).toMatch(/smtp2sms_receipts_total\{stat="DELIVRD"\} 1/);
    expect(text).toMatch(/smtp2sms_queue_messages\{state="delivered"\} 1/);
    // Every state of the spool, cancelled too (SMS_STATES).
    for (const state of SMS_STATES)
      expect(text).toMatch(new RegExp(`^smtp2sms_queue_messages\\{state="${state}"\\} \\d+$`, 'm'));
    expect(text).toMatch(/^smtp2sms_smpp_reconnects_total\{bind="1",mode="transceiver"\} 0$/m);
    expect(text).toMatch(/smtp2sms_smpp_bind_up\{bind="1",mode="transceiver"\} 1/);
    expect(text).toMatch(/smtp2sms_submit_latency_seconds_count 1/);

    const healthy = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({
      ok: true,
      spoolWritable: true,
      binds: [{ name: '1', mode: 'transceiver', up: true }],
      role: 'single',
    });
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
    await sim.close();
    sim = undefined;
    await waitFor(
      () => daemon!.logs.some((l) => l.msg === 'connection lost; reconnecting'),
      10_000,
      'the bind to drop',
    );
    const down = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(down.status).toBe(503);
    expect(((await down.json()) as { binds: Array<{ up: boolean }> }).binds[0]!.up).toBe(false);

    // The SMSC back on its port: the bind reconnects, and the counter counts it once however often it is read.
    sim = started.simulator(new SmscSimulator());
    await sim.listen(port);
    await waitFor(() => sim!.binds === 1, 10_000, 'the bind again');
    const reconnects = async () =>
      Number(/^smtp2sms_smpp_reconnects_total\{bind="1",mode="transceiver"\} (\d+)$/m.exec(await scrape())?.[1]);
    const after = await reconnects();
    expect(after).toBeGreaterThanOrEqual(1);
    expect(await reconnects()).toBe(after);
  });
});

describe('log lines', () => {
  it('`node` is the node id on every line, start and stop included (`nodejs` the version); no key twice', async () => {
    sim = started.simulator(new SmscSimulator());
    const port = await sim.listen();
    const dir = tempDir();
    const users = [{ username: 'ops', password: 'pw' }];
    daemon = started.daemon(
      await spawnDaemon(testConfig(port, dir, { node: { id: 'n1' }, smtp: { auth: { users } } }), dir),
    );
    await waitFor(() => sim!.binds === 1, 10_000, 'bind');
    const r = await sendMail(daemon.port, {
      to: ['+79991234567@sms.example.test'],
      body: 'Subject: m\r\n\r\nlog test\r\n',
      auth: ['ops', 'pw'],
    });
    expect(r.data[0]!.code).toBe(250);
    await waitFor(() => daemon!.logs.some((l) => l.msg === 'receipt'), 10_000, 'the receipt');
    expect(await daemon.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    await waitFor(() => daemon!.logs.some((l) => l.msg === 'stopped'), 5_000, 'the last line');

    const d = daemon;
    // Lines of both threads: the SMTP session's, the mail's on the work thread (it carries the session's
    // bindings), the relay's and the receipts'.
    expect(d.lines.filter((l) => repeatedKeys(l).length > 0)).toEqual([]);
    expect(d.logs.filter((l) => l.node !== 'n1')).toEqual([]);
    expect(d.logs.find((l) => l.msg === 'starting')).toMatchObject({ node: 'n1', nodejs: process.version });
    for (const msg of ['smtp2sms listening', 'bound', 'mail accepted', 'submitted', 'receipt', 'stopping', 'stopped'])
      expect(d.logs.find((l) => l.msg === msg)?.node, msg).toBe('n1');
    expect(d.logs.find((l) => l.msg === 'mail accepted')).toMatchObject({ session: expect.any(String), user: 'ops' });
  });
});

describe('SIGHUP', () => {
  it('adds a user without dropping an open session; other changes are reported as needing a restart', async () => {
    sim = started.simulator(new SmscSimulator());
    const port = await sim.listen();
    const dir = tempDir();
    const cfg = testConfig(port, dir, { smtp: { auth: { users: [{ username: 'ops', password: 'one' }] } } });
    daemon = started.daemon(await spawnDaemon(cfg, dir));
    const { client } = await RawSmtp.connect(daemon.port);
    await client.cmd('EHLO x');
    expect((await client.cmd(`AUTH PLAIN ${authPlain('zabbix', 'two')}`)).code).toBe(535);

    const smtp = cfg.smtp as Record<string, unknown>;
    smtp.auth = {
      users: [
        { username: 'ops', password: 'one' },
        { username: 'zabbix', password: 'two' },
      ],
    };
    (cfg.smpp as Record<string, unknown>).window = 99;
    writeFileSync(daemon.configPath, YAML.stringify(cfg));
    daemon.child.kill('SIGHUP');
    await waitFor(() => daemon!.logs.some((l) => l.msg === 'configuration reloaded'), 10_000, 'the reload');

    const ok = await client.cmd(`AUTH PLAIN ${authPlain('zabbix', 'two')}`);
    expect(ok.code).toBe(235);
    expect((await client.cmd('MAIL FROM:<z@example.org>')).code).toBe(250);
    client.close();
    expect(daemon.logs.find((l) => l.msg === 'these changes need a restart to take effect')?.keys).toEqual([
      'smpp.window',
    ]);
    expect(daemon.logs.find((l) => l.msg === 'configuration reloaded')).toMatchObject({
      applied: ['smtp.auth.users'],
      users: { added: ['zabbix'], removed: [], changed: [], signInAgain: [] },
    });
  });

  it('a SIGHUP while the daemon starts is not fatal: the config is re-read once it has started', async () => {
    sim = started.simulator(new SmscSimulator());
    const port = await sim.listen();
    const dir = tempDir();
    daemon = started.daemon(
      await spawnDaemon(testConfig(port, dir), dir, {
        onLog: (line, child) => line.msg === 'starting' && child.kill('SIGHUP'),
      }),
    );
    await waitFor(() => daemon!.logs.some((l) => l.msg === 'configuration reloaded'), 10_000, 'the reload');
    expect(daemon.logs.some((l) => l.msg === 'SIGHUP during start-up: the config is re-read once started')).toBe(true);
    expect(
      (await sendMail(daemon.port, { to: ['+79991234567@sms.example.test'], body: 'Subject: s\r\n\r\nup\r\n' }))
        .data[0]!.code,
    ).toBe(250);
  });

  it('a SIGTERM while the daemon starts stops it cleanly once it has started (exit 0)', async () => {
    sim = started.simulator(new SmscSimulator());
    const port = await sim.listen();
    const dir = tempDir();
    const opts = {
      waitListening: false,
      onLog: (line: Record<string, unknown>, child: ChildProcess) => line.msg === 'starting' && child.kill('SIGTERM'),
    };
    daemon = started.daemon(await spawnDaemon(testConfig(port, dir), dir, opts));
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(daemon.logs.find((l) => l.msg === 'stopping')).toMatchObject({ signal: 'SIGTERM', starting: true });
    expect(daemon.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['smtp2sms listening', 'stopped']));
  });

  it('a broken config on SIGHUP keeps the running one', async () => {
    sim = started.simulator(new SmscSimulator());
    const port = await sim.listen();
    const dir = tempDir();
    daemon = started.daemon(await spawnDaemon(testConfig(port, dir), dir));
    writeFileSync(daemon.configPath, 'smtp: { port: "nope" }\n');
    daemon.child.kill('SIGHUP');
    await waitFor(
      () => daemon!.logs.some((l) => l.msg === 'SIGHUP: configuration not reloaded; the running one stays'),
      10_000,
      'the refusal',
    );
    expect(
      (await sendMail(daemon.port, { to: ['+79991234567@sms.example.test'], body: 'Subject: s\r\n\r\nstill up\r\n' }))
        .data[0]!.code,
    ).toBe(250);
  });
});
