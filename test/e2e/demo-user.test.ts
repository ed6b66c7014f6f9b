/**
 * Demo mode gives the web page a user (issue 22: the demo's page had nobody to sign in with): printed at start,
 * an admin, a new password each start; users in the config file replace it, also on a reload.
 */
import { writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { SmscSimulator } from '../../src/simulator/smsc.js';
import { freePort, spawnDaemon, stopAfterEach, tempDir, testConfig, waitFor } from '../helpers/daemon-process.js';

const started = stopAfterEach();

async function signIn(web: string, username: string, password: string): Promise<number> {
  const res = await fetch(`${web}/signin`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ username, password }),
  });
  return res.status;
}

/** A daemon in demo mode (the embedded simulator) with its web page on a free port. */
async function demoDaemon(extra: Record<string, unknown> = {}) {
  const simPort = await freePort();
  const webPort = await freePort();
  const dir = tempDir();
  const config = testConfig(simPort, dir, {
    simulator: { enabled: true, port: simPort },
    web: { host: '127.0.0.1', port: webPort },
    ...extra,
  });
  return { d: started.daemon(await spawnDaemon(config, dir)), config, webPort };
}

describe('demo mode web user', () => {
  it('is printed at start, signs in, and goes when the file names users (SIGHUP)', async () => {
    const { d, config, webPort } = await demoDaemon();
    await waitFor(() => d.logs.some((l) => String(l.msg).startsWith('demo web page:')), 10_000, 'the demo line');
    const line = String(d.logs.find((l) => String(l.msg).startsWith('demo web page:'))!.msg);
    const m = /^demo web page: http:\/\/127\.0\.0\.1:(\d+) — sign in as demo \/ (\S+)$/.exec(line);
    expect(m?.[1]).toBe(String(webPort));
    const web = `http://127.0.0.1:${webPort}`;
    expect(await signIn(web, 'demo', m![2]!)).toBe(303);
    expect(await signIn(web, 'demo', 'wrong')).toBe(401);
    // The operator's own user replaces it.
    writeFileSync(
      d.configPath,
      YAML.stringify({
        ...config,
        smtp: { ...(config.smtp as object), auth: { users: [{ username: 'ops', password: 'ops-pw' }] } },
      }),
    );
    d.child.kill('SIGHUP');
    await waitFor(() => d.logs.some((l) => l.msg === 'configuration reloaded'), 10_000, 'the reload');
    expect(await signIn(web, 'demo', m![2]!)).toBe(401);
    expect(await signIn(web, 'ops', 'ops-pw')).toBe(303);
  });

  it('is not made outside demo mode, nor when the file has users', async () => {
    const { d, webPort } = await demoDaemon({ smtp: { auth: { users: [{ username: 'ops', password: 'ops-pw' }] } } });
    await waitFor(() => d.logs.some((l) => l.msg === 'web page and API listening'), 10_000, 'the web page');
    expect(d.logs.some((l) => String(l.msg).startsWith('demo web page:'))).toBe(false);
    expect(await signIn(`http://127.0.0.1:${webPort}`, 'demo', 'x')).toBe(401);
    // A real SMSC (no simulator) and no users: no demo user either.
    const sim = started.simulator(new SmscSimulator());
    const dir2 = tempDir();
    const webPort2 = await freePort();
    const real = testConfig(await sim.listen(), dir2, { web: { host: '127.0.0.1', port: webPort2 } });
    const d2 = started.daemon(await spawnDaemon(real, dir2));
    await waitFor(() => d2.logs.some((l) => l.msg === 'web page and API listening'), 10_000, 'the web page');
    expect(d2.logs.some((l) => String(l.msg).startsWith('demo web page:'))).toBe(false);
  });
});
