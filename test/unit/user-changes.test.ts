/** What a SIGHUP reload changes in smtp.auth.users, by name: the log line, and whose web sessions end. */
import { describe, expect, it } from 'vitest';
import { userChanges, type AuthUser } from '../../src/smtp/auth.js';

const user = (username: string, more: Partial<AuthUser> & Record<string, unknown> = {}): AuthUser => ({
  username,
  password_hash: `scrypt$16384$8$1$c2FsdA==$${username}`,
  allowed_senders: [],
  ...more,
});

describe('userChanges', () => {
  it('the same users, in any key order: nothing', () => {
    const before = [user('a'), user('b', { admin: false })];
    const after = [
      { allowed_senders: [], admin: false, password_hash: before[1]!.password_hash, username: 'b' },
      user('a'),
    ];
    expect(userChanges(before, after)).toEqual({ added: [], removed: [], changed: [], signInAgain: [] });
  });

  it('added, removed and changed by name; removed users sign in again', () => {
    const c = userChanges([user('alice'), user('bob')], [user('bob'), user('carol')]);
    expect(c).toEqual({ added: ['carol'], removed: ['alice'], changed: [], signInAgain: ['alice'] });
  });

  it('a new password or hash means signing in again; other settings only count as changed', () => {
    const before = [
      user('pw', { password_hash: undefined, password: 'one' }),
      user('hash'),
      user('admin'),
      user('tok'),
    ];
    const after = [
      user('pw', { password_hash: undefined, password: 'two' }),
      user('hash', { password_hash: 'scrypt$16384$8$1$c2FsdA==$other' }),
      user('admin', { admin: true }),
      user('tok', { api_token_hash: 'scrypt$16384$8$1$c2FsdA==$token', source_addr: 'NOC' }),
    ];
    expect(userChanges(before, after)).toEqual({
      added: [],
      removed: [],
      changed: ['admin', 'hash', 'pw', 'tok'],
      signInAgain: ['hash', 'pw'],
    });
  });

  it('a plaintext password replaced by a hash (even of the same password) is a new credential', () => {
    const c = userChanges([user('a', { password_hash: undefined, password: 'x' })], [user('a')]);
    expect(c.signInAgain).toEqual(['a']);
  });

  it('a name given twice counts as its first entry, as for AUTH', () => {
    const first = user('a');
    const c = userChanges([first], [first, user('a', { password_hash: 'scrypt$16384$8$1$c2FsdA==$second' })]);
    expect(c).toEqual({ added: [], removed: [], changed: [], signInAgain: [] });
  });

  it('names only: no hash or password in what it returns', () => {
    const c = userChanges([user('a', { password: 'secret', password_hash: undefined })], [user('b')]);
    expect(JSON.stringify(c)).not.toMatch(/secret|scrypt/);
  });
});
