import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';

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
