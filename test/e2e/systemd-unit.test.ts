/**
 * The shipped unit (systemd/smtp2sms.service) as an operator installs it: what it sets and leaves to the config,
 * that systemd parses it, and the daemon started the way the unit starts it (a DynamicUser that cannot read a
 * root-only TLS key, which it gets as a LoadCredential= copy in $CREDENTIALS_DIRECTORY).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { CLI, cliNodeEnv, cliNodeFlags, runCli } from '../helpers/cli.js';
import { freePort, tempDir, waitFor } from '../helpers/daemon-process.js';
import { FIXTURE_CERT, FIXTURE_KEY, filesDir, UNPRIVILEGED } from '../helpers/protected-files.js';
import { RawSmtp } from '../helpers/smtp-client.js';

const unit = readFileSync('systemd/smtp2sms.service', 'utf8');
const lines = unit.split('\n').filter((l) => !l.startsWith('#'));
const values = (key: string) => lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

describe('systemd unit', () => {
  it('leaves the config to the config file: no SMTP2SMS_* variable of its own, no ExecStartPre', () => {
    expect(values('Environment').filter((v) => v.startsWith('SMTP2SMS_'))).toEqual([]);
    expect(values('ExecStartPre')).toEqual([]);
    expect(values('EnvironmentFile')).toEqual(['-/etc/smtp2sms/secrets.env']);
  });

  it('runs the package bin with the node in PATH, never a hard-coded (possibly too old) one', () => {
    const { bin } = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { smtp2sms: string } };
    expect(values('ExecStart')).toEqual([`/opt/smtp2sms/${bin.smtp2sms} serve --config /etc/smtp2sms/smtp2sms.yaml`]);
    for (const exec of [...values('ExecStart'), ...values('ExecReload')]) expect(exec).not.toMatch(/\bnode\b/);
    // The bin's first line is what starts node: from PATH, with the flags and environment the daemon needs.
    expect(readFileSync(CLI, 'utf8').split('\n', 1)[0]).toMatch(/^#!\/usr\/bin\/env -S /);
    expect(cliNodeEnv()).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(cliNodeFlags()).toContain('--max-semi-space-size=2');
  });

  it('a config error (exit 2) is not restarted; a reload checks the config quietly before SIGHUP', () => {
    expect(values('Restart')).toEqual(['on-failure']);
    expect(values('RestartPreventExitStatus')).toEqual(['2']);
    expect(values('ExecReload')).toEqual([
      '/opt/smtp2sms/dist/cli.js check-config --quiet --config /etc/smtp2sms/smtp2sms.yaml',
      '/bin/kill -HUP $MAINPID',
    ]);
  });

  it('loads the TLS files config/smsc-center.yaml names as credentials, each with a blank fallback', () => {
    const loaded = new Map(
      values('LoadCredential').map((v) => [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)]),
    );
    const tls = (
      YAML.parse(readFileSync('config/smsc-center.yaml', 'utf8')) as { smtp: { tls: Record<string, string> } }
    ).smtp.tls;
    expect(Object.fromEntries(loaded)).toEqual({ 'smtp.tls.key': tls.key, 'smtp.tls.cert': tls.cert });
    // Without the file (no TLS) systemd takes the SetCredential= value instead of failing the start.
    expect(values('SetCredential').sort()).toEqual(['smtp.tls.cert:\\n', 'smtp.tls.key:\\n']);
  });

  it.runIf(existsSync('/usr/bin/systemd-analyze'))(
    'systemd-analyze verify accepts it as installed (this checkout in place of /opt/smtp2sms)',
    () => {
      const dir = tempDir();
      const file = join(dir, 'smtp2sms.service');
      writeFileSync(file, unit.replaceAll('/opt/smtp2sms', resolve('.')));
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`).toBe('');
      expect(r.status).toBe(0);
    },
  );
});

describe('the daemon as the unit runs it', () => {
  let sim: SmscSimulator | undefined;
  const children: Array<ReturnType<typeof spawn>> = [];
  afterEach(async () => {
    await Promise.all(
      children.splice(0).map((c) => {
        if (c.exitCode !== null || c.signalCode !== null) return undefined;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        return exited;
      }),
    );
    await sim?.close();
    sim = undefined;
  });

  it('a root-only TLS key given as a systemd credential: the DynamicUser serves STARTTLS with it', async () => {
    sim = new SmscSimulator();
    const smscPort = await sim.listen();
    const f = filesDir();
    const { dir: creds, path: credential } = f.credential('smtp.tls.key', FIXTURE_KEY);
    f.credential('smtp.tls.cert', FIXTURE_CERT);
    const smtpPort = await freePort();
    const config = f.config({
      smtp: { host: '127.0.0.1', port: smtpPort, domains: ['sms.example.test'], tls: { key: f.key, cert: f.cert } },
      smpp: { url: `smpp://127.0.0.1:${smscPort}` },
      metrics: { port: 0 },
      web: { port: 0 },
    });
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMTP2SMS_'))),
      ...cliNodeEnv(),
      CREDENTIALS_DIRECTORY: creds,
    };
    // The reload's check, as the service's user with its credentials: quiet, and passing.
    expect(runCli(['check-config', '--quiet', '--config', config], { ...UNPRIVILEGED, env })).toMatchObject({
      status: 0,
      stdout: '',
      stderr: '',
    });
    const child = spawn(process.execPath, [...cliNodeFlags(), CLI, 'serve', '--config', config], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...UNPRIVILEGED,
    });
    children.push(child);
    const logs: Array<Record<string, unknown>> = [];
    let stderr = '';
    let buf = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        logs.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
        buf = buf.slice(nl + 1);
      }
    });
    await waitFor(
      () => logs.some((l) => l.msg === 'smtp2sms listening') || child.exitCode !== null,
      20_000,
      'the daemon',
    );
    expect(stderr).toBe('');
    expect(logs.find((l) => l.msg === 'smtp.tls.key: read from its systemd credential')).toMatchObject({
      key: 'smtp.tls.key',
      configured: f.key,
      credential,
    });
    const { client, greeting } = await RawSmtp.connect(smtpPort);
    expect(greeting.code).toBe(220);
    expect((await client.cmd('EHLO client.example.test')).lines.join('\n')).toContain('STARTTLS');
    expect((await client.starttls()).code).toBe(220);
    expect((await client.cmd('EHLO client.example.test')).code).toBe(250);
    client.close();
    // The same start without the credential: exit 2 naming the key, as in the journal of a unit without it.
    const { CREDENTIALS_DIRECTORY: _, ...bare } = env;
    const refused = spawnSync(process.execPath, [CLI, 'serve', '--config', config], {
      env: bare,
      encoding: 'utf8',
      timeout: 20_000,
      ...UNPRIVILEGED,
    });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`smtp.tls.key: ${f.key}: permission denied (EACCES)`);
  });

  it('a blank credential (the unit without a TLS key file) is none: the config without TLS starts', async () => {
    sim = new SmscSimulator();
    const smscPort = await sim.listen();
    const blank = join(tempDir(), 'blank');
    writeFileSync(blank, '\n');
    const f = filesDir();
    const { dir: creds } = f.credential('smtp.tls.key', blank);
    const config = f.config({
      smtp: { port: await freePort() },
      smpp: { url: `smpp://127.0.0.1:${smscPort}` },
      metrics: { port: 0 },
      web: { port: 0 },
    });
    const r = runCli(['check-config', '--quiet', '--config', config], {
      ...UNPRIVILEGED,
      env: { CREDENTIALS_DIRECTORY: creds },
    });
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
    // A credential with content for a key the config leaves unset is said to be unused.
    const full = f.credential('smtp.tls.key', FIXTURE_KEY);
    const unused = runCli(['check-config', '--quiet', '--config', config], {
      ...UNPRIVILEGED,
      env: { CREDENTIALS_DIRECTORY: full.dir },
    });
    expect(unused.status).toBe(0);
    expect(unused.stderr).toBe('warning: smtp.tls.key: not set, so the systemd credential smtp.tls.key is not used\n');
  });
});
