import { describe, expect, it } from 'vitest';
import { ConfigError, maskSecrets, parseConfig } from '../../src/config/load.js';
import { maskUrl, withPassword } from '../../src/config/postgres-url.js';

const problems = (input: unknown, env: NodeJS.ProcessEnv = {}): string[] => {
  try {
    parseConfig(input, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

describe('spool.backend and spool.url', () => {
  it('sqlite stays the default and needs no url', () => {
    const c = parseConfig({});
    expect(c.spool).toMatchObject({ backend: 'sqlite', url: null, pool_size: 10, statement_timeout_ms: 10_000 });
  });

  it.each([
    [{ spool: { backend: 'postgres' } }, 'spool.url: required when spool.backend is postgres'],
    [{ spool: { backend: 'postgres', url: 'mysql://u:hunter2@h/db' } }, 'spool.url: scheme mysql is not postgres'],
    [{ spool: { backend: 'postgres', url: 'hunter2 not a url' } }, 'spool.url: not a URL'],
    [{ spool: { backend: 'postgres', url: 'postgres://u:hunter2@h:5432' } }, 'spool.url: no database name'],
    [{ spool: { backend: 'mysql' } }, 'spool.backend: Invalid option'],
    [{ spool: { pool_size: 0 } }, 'spool.pool_size: Too small'],
  ])('%j → %s, the password never shown', (input, expected) => {
    const found = problems(input);
    expect(found).toEqual([expect.stringContaining(expected)]);
    expect(found.join('\n')).not.toContain('hunter2');
  });

  it('the URL comes from SMTP2SMS_SPOOL_URL and the password alone from SMTP2SMS_SPOOL_PASSWORD', () => {
    const c = parseConfig(
      { spool: { backend: 'postgres' } },
      { SMTP2SMS_SPOOL_URL: 'postgres://sms@db.example:5432/smtp2sms', SMTP2SMS_SPOOL_PASSWORD: 'p@ss/word' },
    );
    expect(c.spool.url).toBe('postgres://sms@db.example:5432/smtp2sms');
    expect(new URL(withPassword(c.spool.url as string, c.spool.password)).password).toBe(
      encodeURIComponent('p@ss/word'),
    );
    const wrong = problems({ spool: { backend: 'postgres' } }, { SMTP2SMS_SPOOL_URL: 'http://u:hunter2@h/db' });
    expect(wrong).toEqual([
      expect.stringMatching(/^spool\.url \(from SMTP2SMS_SPOOL_URL\): scheme http is not postgres/),
    ]);
    expect(wrong[0]).toContain('http://u:***@h/db');
  });

  it('printed configs mask the password inside the URL', () => {
    const c = parseConfig({ spool: { backend: 'postgres', url: 'postgres://sms:hunter2@db:5432/smtp2sms' } });
    expect(maskSecrets(c).spool.url).toBe('postgres://sms:***@db:5432/smtp2sms');
    expect(maskSecrets(c).smpp.url).toBe(c.smpp.url);
    expect(maskUrl('postgres://sms@db/x')).toBe('postgres://sms@db/x');
  });
});
