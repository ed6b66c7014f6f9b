/** Run the built CLI (dist/, made by `npm test`'s build step) as a real child process. */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function shebangWords(): string[] {
  const shebang = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '';
  return shebang
    .replace(/^#!\S*env -S /, '')
    .split(' ')
    .filter(Boolean);
}

/** The node flags src/cli.ts's shebang asks for: a daemon under test runs as it does when installed. */
export function cliNodeFlags(): string[] {
  const words = shebangWords();
  return words.slice(words.indexOf('node') + 1);
}

/** The environment the shebang sets before node (NAME=value words). */
export function cliNodeEnv(): Record<string, string> {
  const words = shebangWords();
  return Object.fromEntries(words.slice(0, words.indexOf('node')).map((w) => w.split('=', 2) as [string, string]));
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Who a command runs as: another user's uid and gid (a root test run checking what an unprivileged user meets). */
export interface RunAs {
  uid?: number;
  gid?: number;
}

export function runCli(
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } & RunAs = {},
): CliResult {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMTP2SMS_')));
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: opts.input ?? '',
    env: { ...env, ...opts.env },
    cwd: opts.cwd,
    encoding: 'utf8',
    timeout: 20_000,
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** runCli without blocking this process: a test can go on talking SMTP to a daemon while the command runs. */
export function runCliAsync(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } & RunAs = {},
): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMTP2SMS_')));
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...env, ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}
