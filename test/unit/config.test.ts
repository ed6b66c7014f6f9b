import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configReference } from '../../src/config/reference.js';
import { ConfigError, configWarnings, loadConfig, maskSecrets, parseConfig } from '../../src/config/load.js';

const problems = (input: unknown, env: NodeJS.ProcessEnv = {}): string[] => {
  try {
    parseConfig(input, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

/** The keys the foundation issue names, with these meanings. */
const REQUIRED_KEYS = [
  'smtp.host',
  'smtp.port',
  'smtp.domains',
  'smtp.auth.required',
  'smtp.auth.users',
  'smtp.max_message_bytes',
  'smtp.default_charset',
  'smtp.subject',
  'smpp.url',
  'smpp.system_id',
  'smpp.password',
  'smpp.system_type',
  'smpp.source_addr',
  'smpp.window',
  'smpp.throughput',
  'smpp.registered_delivery',
  'smpp.profile',
  'smpp.concatenation',
  'smpp.comments',
  'sms.default_region',
  'sms.max_parts',
  'sms.on_too_long',
  'sms.smart_encoding',
  'sms.transliterate',
  'policy.duplicate_window_s',
  'policy.flood_max',
  'policy.flood_gap_s',
  'spool.path',
  'metrics.port',
];

describe('config defaults', () => {
  it('an empty file is a complete config with the documented defaults', () => {
    const c = parseConfig({});
    expect(c.smtp).toMatchObject({
      host: '127.0.0.1',
      port: 2525,
      domains: ['sms.localhost'],
      subject: 'prepend',
      default_charset: 'utf-8',
    });
    expect(c.smtp.auth).toEqual({ required: false, users: [], allow_cleartext: false });
    expect(c.smtp.allow_networks).toEqual(['127.0.0.0/8', '::1/128']);
    expect(c.smpp).toMatchObject({
      profile: 'generic',
      concatenation: 'udh8',
      comments: 'strip',
      window: 10,
      throughput: 0,
    });
    expect(c.sms).toMatchObject({
      default_region: 'RU',
      max_parts: 6,
      on_too_long: 'truncate',
      smart_encoding: true,
      transliterate: false,
    });
    expect(c.policy).toEqual({
      duplicate_window_s: 60,
      duplicate_action: 'reject',
      retransmit_window_s: 86_400,
      flood_max: 50,
      flood_gap_s: 30,
      composite_window_s: 60,
    });
    // Resolved when the config is read: the daemon, check-config and `queue` all name one absolute file.
    expect(c.spool.path).toBe(resolve('./var/spool.sqlite'));
    expect(c.metrics.port).toBe(9465);
  });

  it('the example config is valid and equals the defaults it documents, in demo mode', () => {
    // Demo mode: the embedded simulator, whose phone answers each SMS (so replies can be tried).
    const demo = { simulator: { enabled: true, auto_reply: 'OK, on it' } };
    expect(loadConfig('config/smtp2sms.example.yaml', {})).toEqual(parseConfig(demo));
  });

  it('every key has a description (the README reference is built from them)', () => {
    const keys = configReference();
    expect(keys.map((k) => k.key)).toEqual(expect.arrayContaining(REQUIRED_KEYS));
    expect(keys.filter((k) => k.description === '').map((k) => k.key)).toEqual([]);
    expect(keys.find((k) => k.key === 'smtp.port')?.default).toBe(2525);
  });
});

describe('config errors name the key path', () => {
  it.each([
    [{ smtp: { port: 'x' } }, 'smtp.port: Invalid input: expected number'],
    [{ smtp: { port: 70000 } }, 'smtp.port: Too big'],
    [{ smtp: { bogus: 1 } }, 'smtp.bogus: unknown key'],
    [{ nonsense: {} }, 'nonsense: unknown key'],
    [{ smtp: { subject: 'first' } }, 'smtp.subject: Invalid option: expected one of "prepend"|"ignore"|"only"'],
    [{ smtp: { domains: [] } }, 'smtp.domains: Too small'],
    [{ smtp: { default_charset: 'klingon' } }, 'smtp.default_charset: unknown charset'],
    [
      { smtp: { auth: { users: [{ username: 'a' }] } } },
      'smtp.auth.users[0]: give exactly one of password or password_hash',
    ],
    [
      { smtp: { auth: { users: [{ username: 'a', password_hash: 'md5:x' }] } } },
      'smtp.auth.users[0].password_hash: expected a hash made by',
    ],
    [
      { smtp: { auth: { users: [{ username: 'a', password: 'p', allowed_senders: ['x'.repeat(12)] }] } } },
      'smtp.auth.users[0].allowed_senders[0]: an alphanumeric sender has at most 11',
    ],
    [{ smpp: { url: 'http://x' } }, 'smpp.url: expected smpp://host:port or ssmpp://host:port'],
    [{ smpp: { source_addr: '1234567890123456' } }, 'smpp.source_addr: a numeric sender has at most 15 digits'],
    [{ smpp: { concatenation: 'udh7' } }, 'smpp.concatenation: Invalid option'],
    [{ sms: { default_region: 'XX' } }, 'sms.default_region: unknown country'],
    [{ sms: { max_parts: 0 } }, 'sms.max_parts: Too small'],
    [[1, 2], '(top level): expected a mapping'],
  ])('%j → %s', (input, expected) => {
    expect(problems(input).join('\n')).toContain(expected);
  });

  it('reports every problem at once', () => {
    expect(problems({ smtp: { port: 'x', bogus: 1 }, smpp: { source_addr: 'x'.repeat(20) } })).toHaveLength(3);
  });
});

describe('environment variables', () => {
  it('override file values, typed by the schema, nested keys included', () => {
    const c = parseConfig(
      { smpp: { password: 'file' }, smtp: { auth: { users: [{ username: 'u', password: 'p' }] } } },
      {
        SMTP2SMS_SMPP_PASSWORD: '12345',
        SMTP2SMS_SMTP_PORT: '2626',
        SMTP2SMS_SMTP_AUTH_REQUIRED: 'true',
        SMTP2SMS_SMTP_MAX_MESSAGE_BYTES: '4096',
        SMTP2SMS_SMTP_DOMAINS: 'a.example, b.example',
        SMTP2SMS_SMPP_SOURCE_TON: 'null',
        SMTP2SMS_CONFIG: '/etc/x.yaml',
        PATH: '/bin',
      },
    );
    expect(c.smpp.password).toBe('12345');
    expect(c.smtp.port).toBe(2626);
    expect(c.smtp.auth.required).toBe(true);
    expect(c.smtp.max_message_bytes).toBe(4096);
    expect(c.smtp.domains).toEqual(['a.example', 'b.example']);
  });

  it('a bad or unknown variable is named', () => {
    expect(problems({}, { SMTP2SMS_SMPP_WINDOW: 'lots' })).toEqual([
      'smpp.window (from SMTP2SMS_SMPP_WINDOW): Invalid input: expected number, received string',
    ]);
    expect(problems({}, { SMTP2SMS_SMPP_PASWORD: 'x' })[0]).toMatch(
      /^SMTP2SMS_SMPP_PASWORD: no such configuration key/,
    );
  });
});

describe('files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtp2sms-config-'));
  it('YAML syntax errors and duplicate keys are reported with the file name', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'smtp:\n  port: 1\n  port: 2\n');
    expect(() => loadConfig(file, {})).toThrow(/bad\.yaml[\s\S]*YAML: .*(unique|Map keys)/);
  });

  it('a missing file is a config error', () => {
    expect(() => loadConfig(join(dir, 'none.yaml'), {})).toThrow(ConfigError);
  });
});

describe('secrets and warnings', () => {
  it('masks passwords and hashes', () => {
    const c = parseConfig({
      smpp: { password: 'secret' },
      smtp: {
        auth: {
          users: [
            { username: 'a', password: 'pw' },
            { username: 'b', password_hash: 'scrypt$x' },
          ],
        },
      },
    });
    const masked = maskSecrets(c);
    expect(masked.smpp.password).toBe('***');
    expect(masked.smtp.auth.users.map((u) => u.password ?? u.password_hash)).toEqual(['***', '***']);
    expect(JSON.stringify(masked)).not.toMatch(/secret|"pw"|scrypt/);
    expect(c.smpp.password).toBe('secret');
  });

  it('warns about plaintext user passwords', () => {
    const c = parseConfig({ smtp: { auth: { users: [{ username: 'zabbix', password: 'pw' }] } } });
    expect(configWarnings(c)).toEqual([
      expect.stringContaining('smtp.auth.users[0].password: plaintext password for "zabbix"'),
    ]);
  });
});

describe('the example config documents every key', () => {
  it('names each key of the schema', async () => {
    const { readFileSync } = await import('node:fs');
    const yaml = readFileSync('config/smtp2sms.example.yaml', 'utf8');
    const missing = configReference()
      .map((k) => k.key)
      .filter((key) => !new RegExp(`^\\s*#?\\s*(- )?${key.split('.').at(-1)}:`, 'm').test(yaml));
    expect(missing).toEqual([]);
  });
});

describe('shipped configs', () => {
  it('config/smsc-center.yaml: SMS Center over TLS on 3443, profile smsc, keepalive ≤ 60 s, comments to the provider', () => {
    const c = loadConfig('config/smsc-center.yaml', {});
    expect(c.smpp.url).toBe('ssmpp://smpp.smsc.ru:3443');
    expect([c.smpp.profile, c.smpp.comments, c.smpp.source_ton, c.smpp.source_npi]).toEqual(['smsc', 'smsc', 5, 1]);
    expect(c.smpp.enquire_link_s).toBeLessThanOrEqual(60);
    expect(c.simulator.enabled).toBe(false);
    expect(c.smtp.auth.required).toBe(true);
  });

  it('config/cluster-node.example.yaml: a PostgreSQL node with its own id, lease renewed well within it', () => {
    const c = loadConfig('config/cluster-node.example.yaml', {});
    expect([c.spool.backend, c.node.id]).toEqual(['postgres', 'sms-a']);
    expect(c.cluster.lease_renew_s).toBeLessThan(c.cluster.lease_s);
    expect(c.cluster.failover_s).toBeLessThanOrEqual(30);
  });

  it('cluster.lease_renew_s must be below cluster.lease_s; node.id is checked', () => {
    expect(() => parseConfig({ cluster: { lease_s: 5, lease_renew_s: 5 } })).toThrow(/cluster\.lease_renew_s/);
    expect(() => parseConfig({ node: { id: 'a b' } })).toThrow(/node\.id/);
  });

  it('the Grafana dashboard queries only metrics the daemon exports', async () => {
    const { METRIC_NAMES } = await import('../../src/ops/metrics.js');
    const { readFileSync } = await import('node:fs');
    const dash = JSON.parse(readFileSync('config/grafana-dashboard.json', 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const used = new Set(dash.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/smtp2sms_[a-z_]+/g) ?? [])));
    const known = new Set<string>(METRIC_NAMES.flatMap((n) => [n, `${n}_bucket`, `${n}_count`, `${n}_sum`]));
    expect([...used].filter((n) => !known.has(n))).toEqual([]);
    expect(used.size).toBeGreaterThanOrEqual(10);
  });
});

describe('README stays in sync with the code', () => {
  it('the config reference between its markers is what `smtp2sms config-reference` prints', async () => {
    const { readFileSync } = await import('node:fs');
    const { configReferenceMarkdown } = await import('../../src/config/reference.js');
    const readme = readFileSync('README.md', 'utf8');
    const block = /<!-- config-reference:start -->\n([\s\S]*?)\n<!-- config-reference:end -->/.exec(readme)?.[1];
    expect(block).toBe(configReferenceMarkdown());
  });

  it('every exported metric is listed', async () => {
    const { readFileSync } = await import('node:fs');
    const { METRIC_NAMES } = await import('../../src/ops/metrics.js');
    const block =
      /<!-- metrics:start -->([\s\S]*?)<!-- metrics:end -->/.exec(readFileSync('README.md', 'utf8'))?.[1] ?? '';
    expect(METRIC_NAMES.filter((n) => !block.includes(`\`${n}`))).toEqual([]);
  });
});
