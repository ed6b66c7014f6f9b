import { describe, expect, it } from 'vitest';
import { authenticate, AuthThrottle, cleartextAuthAllowed, hashPassword, verifyHash } from '../../src/smtp/auth.js';
import { isLoopback, parseNetworks } from '../../src/config/networks.js';

describe('password hashes', () => {
  it('scrypt hash verifies the right password only; each hash is salted', async () => {
    const h = await hashPassword('pw');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyHash('pw', h)).toBe(true);
    expect(await verifyHash('pw2', h)).toBe(false);
    expect(await hashPassword('pw')).not.toBe(h);
    expect(await verifyHash('pw', 'garbage')).toBe(false);
  });

  it('authenticate: hash, plaintext, unknown user', async () => {
    const users = [
      { username: 'a', password_hash: await hashPassword('x'), allowed_senders: [] },
      { username: 'b', password: 'y', allowed_senders: [] },
    ];
    expect((await authenticate(users, 'a', 'x'))?.username).toBe('a');
    expect((await authenticate(users, 'b', 'y'))?.username).toBe('b');
    expect(await authenticate(users, 'b', 'yy')).toBeUndefined();
    expect(await authenticate(users, 'c', 'x')).toBeUndefined();
  });
});

describe('failed AUTH throttle (clock passed in)', () => {
  it('doubles per failure up to the cap, forgets after the quiet period, resets on success', () => {
    let t = 0;
    const th = new AuthThrottle({ baseDelayMs: 500, maxDelayMs: 4000, forgetAfterMs: 60_000, maxEntries: 2 }, () => t);
    expect([
      th.fail('1.1.1.1'),
      th.fail('1.1.1.1'),
      th.fail('1.1.1.1'),
      th.fail('1.1.1.1'),
      th.fail('1.1.1.1'),
    ]).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(th.fail('2.2.2.2')).toBe(500);
    t = 60_000;
    expect(th.fail('2.2.2.2')).toBe(500);
    th.succeed('2.2.2.2');
    expect(th.fail('2.2.2.2')).toBe(500);
  });

  it('remembers at most maxEntries clients', () => {
    const th = new AuthThrottle({ baseDelayMs: 1, maxDelayMs: 100, forgetAfterMs: 1e9, maxEntries: 2 }, () => 0);
    th.fail('a');
    th.fail('b');
    th.fail('c');
    expect(th.fail('a')).toBe(1); // 'a' was forgotten
  });
});

describe('cleartext AUTH rule', () => {
  it.each([
    [false, true, false, true],
    [false, false, false, false],
    [true, false, false, true],
    [false, false, true, true],
  ])('secure=%s loopback=%s allow=%s → %s', (secure, loopback, allow, expected) => {
    expect(cleartextAuthAllowed(secure, loopback, allow)).toBe(expected);
  });
});

describe('networks', () => {
  it('IPv4, IPv6, mapped IPv4, bare addresses', () => {
    const n = parseNetworks(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
    expect(['10.1.2.3', '::ffff:10.9.9.9', '2001:db8::1', '192.0.2.7'].map((a) => n.allows(a))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['11.0.0.1', '2001:db9::1', '192.0.2.8', '127.0.0.1'].map((a) => n.allows(a))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
  it('bad entries are named', () => {
    expect(() => parseNetworks(['10.0.0.0/33'])).toThrow('bad network "10.0.0.0/33"');
    expect(() => parseNetworks(['example.org'])).toThrow('not an IP address');
  });
  it('loopback', () => {
    expect(['127.0.0.1', '127.5.5.5', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', '::2'].some(isLoopback)).toBe(false);
  });
});
