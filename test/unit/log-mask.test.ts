import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, maskLogged } from '../../src/ops/log.js';
import { repeatedKeys, topLevelKeys } from '../helpers/log-lines.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Lines a real logger wrote to a real file, as written. */
async function loggedLines(write: (log: ReturnType<typeof createLogger>) => number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'log-mask-'));
  dirs.push(dir);
  const file = join(dir, 'log.jsonl');
  const log = createLogger('info', { destination: file });
  const n = write(log);
  // The destination is asynchronous (as the daemon's): wait until all the lines are in the file.
  const read = () => readFileSync(file, 'utf8').split('\n').filter(Boolean);
  await expect.poll(() => read().length, { timeout: 5000 }).toBe(n);
  return read();
}

async function logged(write: (log: ReturnType<typeof createLogger>) => number): Promise<Record<string, unknown>[]> {
  return (await loggedLines(write)).map((l) => JSON.parse(l) as Record<string, unknown>);
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

describe('bindings written once', () => {
  it("a child given its parent's bindings again (the work thread's child for a mail) writes each key once", async () => {
    const lines = await loggedLines((log) => {
      const node = log.child({ node: 'n1' });
      // What the SMTP session's logger hands the work thread: its bindings, service and node included.
      const session = node.child({ session: 's1', ip: '127.0.0.1' }).bindings();
      node.child(session).info({ queueId: 'q1' }, 'mail accepted');
      node.child({ node: 'n1', component: 'relay' }).child({ component: 'relay', bind: '1' }).info('bound');
      return 2;
    });
    expect(lines.map(repeatedKeys)).toEqual([[], []]);
    expect(topLevelKeys(lines[0]!)).toEqual(['level', 'time', 'service', 'node', 'session', 'ip', 'queueId', 'msg']);
    expect(JSON.parse(lines[1]!)).toMatchObject({ service: 'smtp2sms', node: 'n1', component: 'relay', bind: '1' });
  });

  it('topLevelKeys reads keys only at the top, whatever strings and nesting hold', () => {
    const line = JSON.stringify({ a: 1, b: { a: 2, c: [{ a: 3 }] }, s: 'x\\","a":{[' });
    expect(topLevelKeys(`${line.slice(0, -1)},"a":4}`)).toEqual(['a', 'b', 's', 'a']);
    expect(repeatedKeys('{"node":"n1","x":[1,{"node":2}],"node":"n1"}')).toEqual(['node']);
  });
});
