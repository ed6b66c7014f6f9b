import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, runCli, runCliAsync } from '../helpers/cli.js';
import { freePort, waitFor } from '../helpers/daemon-process.js';
import { AS_ROOT, FIXTURE_CERT, FIXTURE_KEY, filesDir, UNPRIVILEGED } from '../helpers/protected-files.js';

describe('smtp2sms --version', () => {
  it('-V and --version print package.json’s version', () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['-V', '--version']) expect(runCli([flag])).toMatchObject({ status: 0, stdout: `${version}\n` });
  });
});

describe('smtp2sms config-reference', () => {
  it('words smtp.name’s default instead of printing this machine’s host name; documents users[] fields', () => {
    const r = runCli(['config-reference']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("| `smtp.name` | the host's name (os.hostname()) |");
    expect(r.stdout).not.toContain(`"${hostname()}"`);
    for (const field of ['username', 'password', 'password_hash', 'source_addr', 'allowed_senders']) {
      expect(r.stdout).toMatch(new RegExp(`^\\| \`smtp\\.auth\\.users\\[\\]\\.${field}\` \\|[^|]*\\| \\S`, 'm'));
    }
    expect(r.stdout).toContain('| `smtp.auth.users[].username` | required |');
  });
});

describe('smtp2sms encode', () => {
  it('prints encoding, replacements and parts', () => {
    const r = runCli(['encode', 'It’s', 'down', '—', 'now']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('encoding:       GSM (data_coding 0 / 0x00)');
    expect(r.stdout).toContain('"’"→"\'" ×1, "—"→"-" ×1');
    expect(r.stdout).toContain('SMS parts:      1 (1 SUBMIT_SM, concatenation udh8)');
    expect(r.stdout).toContain('part 1: 15 septets, 15 bytes');
  });

  it('--json gives { encoding, data_coding, replacements, parts: [{ units, bytes, hex }] }', () => {
    const r = runCli(['encode', '--json', '--profile', 'smsc', '--concat', 'udh16', `${'я'.repeat(70)}€`]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ encoding: 'UCS-2', data_coding: 8, replacements: [], sms_count: 2 });
    expect(out.parts).toHaveLength(2);
    expect(out.parts[0]).toMatchObject({ units: 66, bytes: 7 + 132 });
    expect(out.parts[0].hex).toMatch(/^060804[0-9a-f]{4}0201(044f){66}$/);
    expect(out.parts[1].hex).toMatch(/^060804[0-9a-f]{4}0202(044f){4}20ac$/);
  });

  it('--hex shows the exact bytes; reads the text from standard input', () => {
    const r = runCli(['encode', '--hex'], { input: '€[1]\n' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('1b651b3c311b3e0a');
  });

  it('--system-type ISO sends Latin-1 bytes with data_coding 0; --latin1 uses 3 (generic) or 4 (smsc)', () => {
    const iso = JSON.parse(runCli(['encode', '--json', '--profile', 'smsc', '--system-type', 'ISO', 'é{x}']).stdout);
    expect(iso).toMatchObject({ encoding: 'GSM', data_coding: 0, parts: [{ units: 6, bytes: 4, hex: 'e97b787d' }] });
    expect(JSON.parse(runCli(['encode', '--json', '--latin1', 'â']).stdout).data_coding).toBe(3);
    expect(JSON.parse(runCli(['encode', '--json', '--latin1', '--profile', 'smsc', 'â']).stdout).data_coding).toBe(4);
  });

  it('sar and payload modes', () => {
    const sar = JSON.parse(runCli(['encode', '--json', '--concat', 'sar', 'a'.repeat(200)]).stdout);
    expect(sar.parts.map((p: { sar: unknown }) => p.sar)).toEqual([
      expect.objectContaining({ total: 2, seq: 1 }),
      expect.objectContaining({ total: 2, seq: 2 }),
    ]);
    const payload = JSON.parse(runCli(['encode', '--json', '--concat', 'payload', 'a'.repeat(400)]).stdout);
    expect(payload).toMatchObject({ sms_count: 3, parts: [{ units: 400, bytes: 400, message_payload: true }] });
  });

  it('--no-smart and --translit', () => {
    expect(JSON.parse(runCli(['encode', '--json', '--no-smart', 'it’s']).stdout).encoding).toBe('UCS-2');
    const t = JSON.parse(runCli(['encode', '--json', '--translit', 'Привет']).stdout);
    expect([t.encoding, t.text, t.transliterated]).toEqual(['GSM', 'Privet', true]);
  });

  it('shows the text as it will be sent (after transliteration)', () => {
    const r = runCli(['encode', '--translit', 'Привет,', 'мир']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('transliterated: Cyrillic → Latin');
    expect(r.stdout).toContain('text:           "Privet, mir"');
  });

  it('too long with reject exits 1 naming the part count; truncate cuts', () => {
    const r = runCli(['encode', '--max-parts', '2', '--on-too-long', 'reject', 'a'.repeat(400)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('needs 3 SMS parts (GSM), at most 2 are allowed (5.3.4)');
    const t = JSON.parse(runCli(['encode', '--json', '--max-parts', '2', 'a'.repeat(400)]).stdout);
    expect([t.truncated, t.sms_count]).toEqual([true, 2]);
  });

  it('empty text exits 1', () => {
    const r = runCli(['encode'], { input: '  \n' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('No text to send');
  });

  it('takes sms/smpp settings from --config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp2sms-cli-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'smpp: { profile: smsc }\nsms: { allow_latin1: true }\n');
    expect(JSON.parse(runCli(['encode', '--json', '--config', file, 'â']).stdout).data_coding).toBe(4);
  });
});

describe('smtp2sms check-config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtp2sms-check-'));

  it('prints the effective config with secrets masked, warns on plaintext passwords', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'smtp:\n  auth:\n    users: [{ username: zabbix, password: hunter2 }]\n');
    const r = runCli(['check-config', '--config', file], { env: { SMTP2SMS_SMPP_PASSWORD: 's3cret' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/password: "\*\*\*"/);
    expect(r.stdout).not.toMatch(/hunter2|s3cret/);
    expect(r.stdout).toContain('max_parts: 6');
    expect(r.stderr).toContain('warning: smtp.auth.users[0].password: plaintext password for "zabbix"');
  });

  it('exits 2 naming each bad key', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'smtp: { port: "x", prot: 1 }\nsms: { on_too_long: cut }\n');
    const r = runCli(['check-config', '-c', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('smtp.port: Invalid input: expected number, received string');
    expect(r.stderr).toContain('smtp.prot: unknown key');
    expect(r.stderr).toContain('sms.on_too_long: Invalid option');
    expect(r.stdout).toBe('');
  });

  it('prints spool.path resolved against the working directory', () => {
    const file = join(dir, 'relative.yaml');
    writeFileSync(file, 'spool: { path: var/spool.sqlite }\n');
    const r = runCli(['check-config', '-c', file], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`path: ${join(dir, 'var/spool.sqlite')}\n`);
  });

  it('the example config passes', () => {
    expect(runCli(['check-config', '-c', 'config/smtp2sms.example.yaml']).status).toBe(0);
  });

  it('the cluster node example passes', () => {
    expect(runCli(['check-config', '-c', 'config/cluster-node.example.yaml']).status).toBe(0);
  });

  it('the SMS Center example passes with its TLS files given as the systemd unit gives them (credentials)', () => {
    const files = filesDir();
    const { dir: creds } = files.credential('smtp.tls.key', FIXTURE_KEY);
    files.credential('smtp.tls.cert', FIXTURE_CERT);
    const env = { CREDENTIALS_DIRECTORY: creds, SMTP2SMS_SPOOL_PATH: join(files.spoolDir, 'spool.sqlite') };
    const r = runCli(['check-config', '-c', 'config/smsc-center.yaml'], { ...UNPRIVILEGED, env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`key: ${join(creds, 'smtp.tls.key')}\n`);
    // Without them, on a machine without /etc/smtp2sms/tls, it names both files.
    const bare = runCli(['check-config', '-q', '-c', 'config/smsc-center.yaml'], {
      env: { SMTP2SMS_SPOOL_PATH: env.SMTP2SMS_SPOOL_PATH },
    });
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain('smtp.tls.key: /etc/smtp2sms/tls/key.pem: no such file (ENOENT)');
    expect(bare.stderr).toContain('smtp.tls.cert: /etc/smtp2sms/tls/cert.pem: no such file (ENOENT)');
  });

  it('--quiet prints nothing for a valid config', () => {
    const r = runCli(['check-config', '--quiet', '-c', 'config/smtp2sms.example.yaml']);
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });
});

describe('check-config opens every file the config names, as the daemon will', () => {
  it('a key file that does not exist: exit 2 naming smtp.tls.key, the path and ENOENT', () => {
    const f = filesDir();
    const missing = join(f.dir, 'nope.pem');
    const r = runCli(['check-config', '-c', f.config({ smtp: { tls: { key: missing, cert: f.cert } } })]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`smtp.tls.key: ${missing}: no such file (ENOENT)`);
    expect(r.stdout).toBe('');
  });

  it('a directory where the certificate should be: EISDIR, naming smtp.tls.cert', () => {
    const f = filesDir();
    const r = runCli(['check-config', '-c', f.config({ smtp: { tls: { key: FIXTURE_KEY, cert: f.dir } } })]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`smtp.tls.cert: ${f.dir}: is a directory (EISDIR)`);
  });

  it('a root-only key read by an unprivileged user: EACCES naming smtp.tls.key and the LoadCredential line', () => {
    const f = filesDir();
    const config = f.config({ smtp: { tls: { key: f.key, cert: f.cert } } });
    for (const quiet of [[], ['--quiet']]) {
      const r = runCli(['check-config', ...quiet, '-c', config], UNPRIVILEGED);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        `smtp.tls.key: ${f.key}: permission denied (EACCES); under the systemd unit give it to the daemon with ` +
          `LoadCredential=smtp.tls.key:${f.key}`,
      );
      expect(r.stderr).not.toContain('smtp.tls.cert');
      expect(r.stdout).toBe('');
    }
  });

  it('the key from a systemd credential ($CREDENTIALS_DIRECTORY/smtp.tls.key) instead of the root-only file', () => {
    const f = filesDir();
    // As systemd makes it: a copy only the service's user may read.
    const { dir: creds, path: credential } = f.credential('smtp.tls.key', FIXTURE_KEY);
    const config = f.config({ smtp: { tls: { key: f.key, cert: f.cert } } });
    const r = runCli(['check-config', '-c', config], { ...UNPRIVILEGED, env: { CREDENTIALS_DIRECTORY: creds } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`key: ${credential}\n`);
    expect(r.stdout).toContain(`cert: ${f.cert}\n`);
    // The unit's fallback when the file to load is absent (SetCredential=smtp.tls.key:\n) is no credential.
    writeFileSync(credential, '\n');
    const blank = runCli(['check-config', '-q', '-c', config], {
      ...UNPRIVILEGED,
      env: { CREDENTIALS_DIRECTORY: creds },
    });
    expect(blank.status).toBe(2);
    expect(blank.stderr).toContain(`smtp.tls.key: ${f.key}: permission denied (EACCES)`);
  });

  it('a key that is not the certificate’s, or a certificate where the key should be', () => {
    const f = filesDir();
    const other = join(f.dir, 'other-key.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(other, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const mismatch = runCli(['check-config', '-c', f.config({ smtp: { tls: { key: other, cert: f.cert } } })]);
    expect(mismatch.status).toBe(2);
    expect(mismatch.stderr).toContain('smtp.tls.key: the key does not belong to the certificate in smtp.tls.cert');
    const swapped = runCli(['check-config', '-c', f.config({ smtp: { tls: { key: f.cert, cert: f.cert } } })]);
    expect(swapped.status).toBe(2);
    expect(swapped.stderr).toContain(`smtp.tls.key: ${f.cert}: not a PEM private key`);
  });

  it('smpp.tls.ca, the PostgreSQL files in spool.url and the spool directory are named by their keys', () => {
    const f = filesDir();
    const gone = (name: string) => join(f.dir, name);
    const pg = runCli(
      [
        'check-config',
        '-c',
        f.config({
          smpp: { url: 'ssmpp://smsc.example.net:3443', tls: { ca: gone('ca.pem') } },
          spool: {
            backend: 'postgres',
            url:
              'postgres://sms@db.example.net/sms?sslmode=verify-full' +
              `&sslrootcert=${gone('root.crt')}&sslkey=${f.key}&sslcert=${f.cert}`,
          },
        }),
      ],
      UNPRIVILEGED,
    );
    expect(pg.status).toBe(2);
    expect(pg.stderr).toContain(`smpp.tls.ca: ${gone('ca.pem')}: no such file (ENOENT)`);
    expect(pg.stderr).toContain(`spool.url.sslrootcert: ${gone('root.crt')}: no such file (ENOENT)`);
    expect(pg.stderr).toContain(`spool.url.sslkey: ${f.key}: permission denied (EACCES)`);
    expect(pg.stderr).not.toContain('spool.url.sslcert');
    // The SQLite spool: its directory must take the file (the root-owned temp dir does not, for nobody).
    const spool = runCli(
      ['check-config', '-c', f.config({ spool: { path: join(f.dir, 'spool.sqlite') } })],
      UNPRIVILEGED,
    );
    if (AS_ROOT) {
      expect(spool.status).toBe(2);
      expect(spool.stderr).toContain(
        `spool.path: ${join(f.dir, 'spool.sqlite')}: cannot write in ${f.dir}: permission denied (EACCES)`,
      );
    }
  });
});

describe('serve refuses to start, naming why, before anything listens', () => {
  const blockers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(blockers.splice(0).map((b) => new Promise((r) => b.close(r))));
  });
  /** A port some other program holds. */
  const taken = async (): Promise<number> => {
    const server = net.createServer();
    blockers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as net.AddressInfo).port;
  };
  const saysListening = (stdout: string) => /listening/.test(stdout);

  it('without --config: exit 2, it would run on the built-in defaults', async () => {
    const r = await runCliAsync(['serve']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'smtp2sms: serve needs --config FILE: without one it would run on the built-in defaults',
    );
    expect(r.stderr).toContain('relay to smpp://127.0.0.1:2775');
    expect(saysListening(r.stdout)).toBe(false);
  });

  it('without --config in demo mode (SMTP2SMS_SIMULATOR_ENABLED=true): it starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp2sms-demo-'));
    const [smtpPort, smscPort] = [await freePort(), await freePort()];
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMTP2SMS_')));
    const child = spawn(process.execPath, [CLI, 'serve'], {
      env: {
        ...env,
        SMTP2SMS_SIMULATOR_ENABLED: 'true',
        SMTP2SMS_SIMULATOR_PORT: String(smscPort),
        SMTP2SMS_SMPP_URL: `smpp://127.0.0.1:${smscPort}`,
        SMTP2SMS_SMTP_PORT: String(smtpPort),
        SMTP2SMS_WEB_PORT: '0',
        SMTP2SMS_METRICS_PORT: '0',
        SMTP2SMS_SPOOL_PATH: join(dir, 'spool.sqlite'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await waitFor(() => out.includes('"msg":"smtp2sms listening"'), 15_000, 'the demo daemon');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('a TLS key it may not read: exit 2 naming smtp.tls.key, nothing listening', async () => {
    const f = filesDir();
    const config = f.config({
      smtp: { port: await freePort(), tls: { key: f.key, cert: f.cert } },
      metrics: { port: 0 },
      web: { port: 0 },
    });
    const r = await runCliAsync(['serve', '--config', config], UNPRIVILEGED);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`smtp.tls.key: ${f.key}: permission denied (EACCES)`);
    expect(saysListening(r.stdout)).toBe(false);
  });

  it.each(['smtp.port', 'web.port', 'metrics.port', 'simulator.port'])(
    '%s in use: exit 2 naming the key, never a line saying it listens',
    async (key) => {
      const f = filesDir();
      const port = await taken();
      const [section] = key.split('.') as [string];
      const sections: Record<string, Record<string, unknown>> = {
        smtp: { port: await freePort() },
        metrics: { port: 0 },
        web: { port: 0 },
        simulator: { enabled: key === 'simulator.port', port: await freePort() },
      };
      sections[section] = { ...sections[section], host: '127.0.0.1', port };
      const r = await runCliAsync(['serve', '--config', f.config(sections)]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        `smtp2sms: ${key}: cannot listen on 127.0.0.1:${port}: the port is in use by another program (EADDRINUSE)`,
      );
      expect(saysListening(r.stdout)).toBe(false);
    },
  );

  it('two keys on one port: exit 2 naming both', async () => {
    const f = filesDir();
    const port = await freePort();
    const r = await runCliAsync([
      'serve',
      '--config',
      f.config({ smtp: { port: await freePort() }, metrics: { port }, web: { port } }),
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`web.port: cannot listen on 127.0.0.1:${port}: metrics.port listens there too`);
    expect(saysListening(r.stdout)).toBe(false);
  });
});

describe('smtp2sms hash-password', () => {
  it('prints a scrypt hash that the config accepts and AUTH verifies', async () => {
    const r = runCli(['hash-password'], { input: 'correct horse\n' });
    expect(r.status).toBe(0);
    const hash = r.stdout.trim();
    expect(hash).toMatch(/^scrypt\$/);
    const { verifyHash } = await import('../../src/smtp/auth.js');
    expect(await verifyHash('correct horse', hash)).toBe(true);
  });

  it('refuses an empty password', () => {
    const r = runCli(['hash-password'], { input: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no password');
  });

  it('piped: takes the first line only', async () => {
    const r = runCli(['hash-password'], { input: 'correct horse\nsecond line\n' });
    expect(r.status).toBe(0);
    const { verifyHash } = await import('../../src/smtp/auth.js');
    expect(await verifyHash('correct horse', r.stdout.trim())).toBe(true);
  });

  const IN_PTY = fileURLToPath(new URL('../helpers/in-pty.py', import.meta.url));
  /** hash-password under a real pseudo-terminal; the terminal's whole output, prompts marked as <Prompt:>. */
  const inTerminal = (first: string, again: string) =>
    spawnSync(
      'python3',
      [IN_PTY, 'Password: ', first, 'Password again: ', again, '--', process.execPath, CLI, 'hash-password'],
      { encoding: 'utf8', timeout: 30_000 },
    );

  it('on a terminal: asks twice, echoes nothing, prints the hash', async () => {
    const r = inTerminal('s3cret-Pw', 's3cret-Pw');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('<Password:>');
    expect(r.stdout).toContain('<Password again:>');
    expect(r.stdout).not.toContain('s3cret');
    const hash = /scrypt\$\S+/.exec(r.stdout)?.[0] ?? '';
    const { verifyHash } = await import('../../src/smtp/auth.js');
    expect(await verifyHash('s3cret-Pw', hash)).toBe(true);
  });

  it('on a terminal: two different answers are an error, and no hash', () => {
    const r = inTerminal('s3cret-Pw', 's3cret-Px');
    expect(r.status).toBe(2);
    expect(r.stdout).toContain('the passwords do not match');
    expect(r.stdout).not.toContain('scrypt$');
    expect(r.stdout).not.toContain('s3cret');
  });
});
