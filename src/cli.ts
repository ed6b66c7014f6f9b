#!/usr/bin/env -S node --max-semi-space-size=2
// The flag caps V8's young generation on this (SMTP) thread, which only node's command line can set: left at its
// default it grew to ~16 MB per semi-space under load, ~27 MB of the daemon's peak RSS, for no measurable speed
// (bench: 201.8 → 174.7 MB at the same mails/s). package.json's start and the systemd unit pass the same flag.
/** The command line: one sub-command per job, each a thin shell over a module that does the work. */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError, configWarnings, loadConfig } from './config/load.js';
import { queueReport } from './commands/queue.js';
import { serve } from './commands/serve.js';
import { SmscSimulator } from './simulator/smsc.js';
import { SqliteSpool } from './spool/sqlite.js';
import { createLogger } from './ops/log.js';
import { hashPassword } from './smtp/auth.js';
import { checkConfig } from './commands/check-config.js';
import { configReferenceMarkdown } from './config/reference.js';
import { encodeReportJson, encodeReportText } from './commands/encode.js';
import { isReplyError } from './errors.js';
import { smsOptionsFrom } from './sms/options.js';
import { prepareSms, type SmsOptions } from './sms/prepare.js';
import { createRefCounter } from './sms/segment.js';

const program = new Command()
  .name('smtp2sms')
  .description('SMTP-to-SMS bridge: mail to <phone>@<sms-domain> relayed as SMS over SMPP')
  .showHelpAfterError();

program
  .command('serve')
  .description('run the daemon: SMTP in, SMS out')
  .option('-c, --config <file>', 'YAML config file (default: built-in defaults)')
  .option('--log-pretty', 'human-readable logs for a terminal')
  .action(async (opts: { config?: string; logPretty?: boolean }) => {
    const config = loadConfig(opts.config, process.env);
    const log = createLogger(config.log.level, { pretty: opts.logPretty ?? false });
    for (const w of configWarnings(config)) log.warn(w);
    await serve(config, log, opts.logPretty ?? false, opts.config);
  });

program
  .command('hash-password')
  .description('read a password from standard input, print its scrypt hash for smtp.auth.users[].password_hash')
  .action(async () => {
    const input = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    if (input === '') throw new Error('no password on standard input');
    process.stdout.write(`${await hashPassword(input)}\n`);
  });

program
  .command('queue')
  .description('show the spool: counts by state and recent messages, or one message')
  .option('-c, --config <file>', 'YAML config file (for spool.path)')
  .option('--id <id>', 'one message: row id or queue id')
  .option('--limit <n>', 'recent messages to list', (v) => Number.parseInt(v, 10), 20)
  .option('--json', 'JSON for scripts')
  .action((opts: { config?: string; id?: string; limit: number; json?: boolean }) => {
    const config = loadConfig(opts.config, process.env);
    const spool = new SqliteSpool(config.spool.path, config.spool.busy_timeout_ms);
    try {
      process.stdout.write(`${queueReport(spool, { ...(opts.id ? { id: opts.id } : {}), limit: opts.limit, json: opts.json ?? false })}\n`);
    } finally {
      spool.close();
    }
  });

program
  .command('simulate-smsc')
  .description('run the SMSC simulator alone: accepts binds, answers submits, sends receipts, prints each SMS')
  .option('--host <host>', 'listen address', '127.0.0.1')
  .option('--port <port>', 'listen port', (v) => Number.parseInt(v, 10), 2775)
  .option('--system-id <id>', 'accept only this system_id')
  .option('--password <pw>', 'accept only this password')
  .option('--throttle-every <n>', 'answer every Nth submit with ESME_RTHROTTLED', (v) => Number.parseInt(v, 10))
  .option('--drop-after <n>', 'drop the connection at every Nth submit', (v) => Number.parseInt(v, 10))
  .option('--delay-ms <ms>', 'delay every submit_sm_resp', (v) => Number.parseInt(v, 10))
  .option('--refuse-prefix <prefix...>', 'refuse destinations starting with these (ESME_RINVDSTADR)')
  .option('--receipt-stat <stat>', 'stat of every receipt (DELIVRD, UNDELIV, …; none: no receipts)', 'DELIVRD')
  .action(async (opts: SimulateFlags) => {
    const sim = new SmscSimulator(
      {
        systemId: opts.systemId,
        password: opts.password,
        throttleEvery: opts.throttleEvery,
        dropAfter: opts.dropAfter,
        delayMs: opts.delayMs,
        refusePrefixes: opts.refusePrefix,
        receiptStat: () => opts.receiptStat,
      },
      (line) => process.stdout.write(`${line}\n`),
    );
    const port = await sim.listen(opts.port, opts.host);
    process.stdout.write(`SMSC simulator listening on ${opts.host}:${port}\n`);
    const stop = () => void sim.close().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });

program
  .command('config-reference')
  .description('print the configuration reference (every key, default, meaning) as a Markdown table')
  .action(() => {
    process.stdout.write(`${configReferenceMarkdown()}\n`);
  });

program
  .command('check-config')
  .description('validate a config file and print the effective config (secrets masked); exit 2 when invalid')
  .requiredOption('-c, --config <file>', 'YAML config file')
  .action((opts: { config: string }) => {
    const { output, warnings } = checkConfig(opts.config, process.env);
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(output);
  });

interface SimulateFlags {
  host: string;
  port: number;
  systemId?: string;
  password?: string;
  throttleEvery?: number;
  dropAfter?: number;
  delayMs?: number;
  refusePrefix?: string[];
  receiptStat: string;
}

interface EncodeFlags {
  config?: string;
  profile?: SmsOptions['profile'];
  systemType?: string;
  concat?: SmsOptions['concatenation'];
  maxParts?: number;
  onTooLong?: SmsOptions['onTooLong'];
  smart?: boolean;
  translit?: boolean;
  latin1?: boolean;
  hex?: boolean;
  json?: boolean;
}

program
  .command('encode')
  .description('show how a text is sent: encoding, data_coding, replacements, parts and their bytes')
  .argument('[text...]', 'the text (words are joined by spaces); none or "-" reads standard input')
  .option('-c, --config <file>', 'take sms.* and smpp.* settings from this config file')
  .addOption(new Option('--profile <profile>', 'SMSC profile').choices(['generic', 'smsc']))
  .option('--system-type <type>', 'SMPP system_type (ISO: data_coding 0 carries Latin-1)')
  .addOption(new Option('--concat <mode>', 'concatenation').choices(['udh8', 'udh16', 'sar', 'payload']))
  .addOption(new Option('--max-parts <n>', 'most parts allowed').argParser((v) => Number.parseInt(v, 10)))
  .addOption(new Option('--on-too-long <mode>', 'over max-parts').choices(['reject', 'truncate']))
  .option('--smart', 'smart encoding on')
  .option('--no-smart', 'smart encoding off')
  .option('--translit', 'transliterate Cyrillic when that allows GSM')
  .option('--latin1', 'allow ISO-8859-1')
  .option('--hex', 'print each part’s short_message bytes (UDH included)')
  .option('--json', 'one JSON object: { encoding, data_coding, replacements, parts: [{ units, bytes, hex }] }')
  .action((words: string[], flags: EncodeFlags) => {
    const text = words.length === 0 || (words.length === 1 && words[0] === '-') ? readFileSync(0, 'utf8') : words.join(' ');
    const base = smsOptionsFrom(loadConfig(flags.config, process.env));
    const opts: SmsOptions = {
      ...base,
      profile: flags.profile ?? base.profile,
      systemType: flags.systemType ?? base.systemType,
      concatenation: flags.concat ?? base.concatenation,
      maxParts: flags.maxParts ?? base.maxParts,
      onTooLong: flags.onTooLong ?? base.onTooLong,
      smartEncoding: flags.smart ?? base.smartEncoding,
      transliterate: flags.translit ?? base.transliterate,
      allowLatin1: flags.latin1 ?? base.allowLatin1,
    };
    const sms = prepareSms(text, opts, createRefCounter()());
    process.stdout.write(flags.json ? `${JSON.stringify(encodeReportJson(sms))}\n` : `${encodeReportText(sms, flags.hex ?? false)}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`smtp2sms: ${e.message}\n`);
    process.exit(2);
  }
  if (isReplyError(e)) {
    process.stderr.write(`smtp2sms: ${e.message} (${e.enhanced})\n`);
    process.exit(1);
  }
  // Start-up failures an operator must act on (port in use, spool unreadable): the message, not a stack.
  process.stderr.write(`smtp2sms: ${(e as Error).message ?? String(e)}\n`);
  process.exit(1);
}
