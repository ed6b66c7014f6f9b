import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, maskLogged } from '../../src/ops/log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Lines a real logger wrote to a real file. */
async function logged(write: (log: ReturnType<typeof createLogger>) => number): Promise<Record<string, unknown>[]> {
  const dir = mkdtempSync(join(tmpdir(), 'log-mask-'));
  dirs.push(dir);
  const file = join(dir, 'log.jsonl');
  const log = createLogger('info', { destination: file });
  const n = write(log);
  // The destination is asynchronous (as the daemon's): wait until all the lines are in the file.
  const read = () => readFileSync(file, 'utf8').split('\n').filter(Boolean);
  await expect.poll(() => read().length, { timeout: 5000 }).toBe(n);
  return read().map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('secrets in log lines', () => {
  it('masks password and password_hash at the top of a line and one level down, in lines and bindings', async () => {
    const user = { username: 'alerts', password: 'hunter2', password_hash: '$scrypt$abc' };
    const lines = await logged((log) => {
      log.info({ password: 'top-secret', n: 1 }, 'top');
      log.info({ user, other: { x: 1 } }, 'nested');
      log.child({ auth: { password: 'bound-secret' }, session: 's1' }).info('child');
      log.child({ node: 'n1' }).child({ password_hash: 'grandchild-secret' }).info('grandchild');
      return 4;
    });
    const text = JSON.stringify(lines);
    for (const secret of ['top-secret', 'hunter2', '$scrypt$abc', 'bound-secret', 'grandchild-secret'])
      expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ password: '***', n: 1, msg: 'top' });
    expect(lines[1]).toMatchObject({
      user: { username: 'alerts', password: '***', password_hash: '***' },
      other: { x: 1 },
    });
    expect(lines[2]).toMatchObject({ auth: { password: '***' }, session: 's1', msg: 'child' });
    expect(lines[3]).toMatchObject({ node: 'n1', password_hash: '***', msg: 'grandchild' });
    // The caller's object is copied, not changed.
    expect(user.password).toBe('hunter2');
  });

  it('leaves a line without secrets as it is (same object, no copy)', () => {
    const obj = { queueId: 'abc', recipients: [{ to: '79990000000' }], err: new Error('x') };
    expect(maskLogged(obj)).toBe(obj);
  });
});
