/** hash-password's input: typed twice without echo on a terminal, or one line from a pipe (scripts, `echo … |`). */
import { readFileSync } from 'node:fs';
import { read } from 'read';
import { UsageError } from '../errors.js';

export async function readPassword(
  input: NodeJS.ReadStream & { fd: number },
  prompts: NodeJS.WriteStream,
): Promise<string> {
  if (!input.isTTY) {
    // The first line only: what `echo secret | smtp2sms hash-password` means, without its newline.
    const line = readFileSync(input.fd, 'utf8').split(/\r?\n/, 1)[0] ?? '';
    if (line === '') throw new UsageError('no password on standard input');
    return line;
  }
  // Prompts go to standard error, so standard output carries the hash alone (`… > hash.txt` still prompts).
  const ask = async (prompt: string) => {
    const answer = await read({ prompt, silent: true, input, output: prompts });
    prompts.write('\n'); // the Enter was not echoed either: end the prompt's line
    return answer;
  };
  const password = await ask('Password: ');
  if (password === '') throw new UsageError('empty password');
  const again = await ask('Password again: ');
  if (again !== password) throw new UsageError('the passwords do not match; nothing printed');
  return password;
}
