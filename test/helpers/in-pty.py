"""Run a command under a pseudo-terminal, answer its prompts, print everything the terminal showed.

usage: in-pty.py PROMPT ANSWER [PROMPT ANSWER ...] -- COMMAND [ARGS...]
Exits with the command's exit code. Used by tests of what a terminal user sees (no echo, prompts).
"""
import os
import pty
import select
import sys

sep = sys.argv.index('--')
pairs = sys.argv[1:sep]
command = sys.argv[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

out = b''


def read_more(timeout):
    global out
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return False
    try:
        data = os.read(fd, 4096)
    except OSError:  # the command ended and closed the terminal
        return False
    out += data
    return bool(data)


for i in range(0, len(pairs), 2):
    prompt, answer = pairs[i].encode(), pairs[i + 1].encode()
    while prompt not in out:
        if not read_more(20):
            sys.stdout.buffer.write(out)
            sys.exit(f'in-pty: no prompt {prompt!r}')
    out = out.replace(prompt, b'<' + prompt.strip() + b'>', 1)
    os.write(fd, answer + b'\r')
while read_more(20):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
