/** The benchmark's ceiling, run as its own process like the daemon: smtp-server + mailparser, doing nothing else. */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const server = new SMTPServer({
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  disableReverseLookup: true,
  onData(stream, _session, callback) {
    simpleParser(stream).then(() => callback(), callback);
  },
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.server.address() as AddressInfo).port}\n`));
