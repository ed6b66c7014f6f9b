/**
 * The benchmark's ceiling, run as its own process like the daemon: smtp-server + mailparser, doing nothing else.
 * `--no-parse`: smtp-server alone, each mail read and dropped (bench:kannel's floor of an SMTP intake in Node.js).
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const parse = !process.argv.includes('--no-parse');
const server = new SMTPServer({
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  disableReverseLookup: true,
  onData(stream, _session, callback) {
    if (!parse) {
      stream.on('end', () => callback()).resume();
      return;
    }
    simpleParser(stream).then(() => callback(), callback);
  },
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.server.address() as AddressInfo).port}\n`));
