import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

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
    const r = runCli(['encode', '--json', '--profile', 'smsc', '--concat', 'udh16', 'я'.repeat(70) + '€']);
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

  it('the example config passes', () => {
    expect(runCli(['check-config', '-c', 'config/smtp2sms.example.yaml']).status).toBe(0);
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
});
