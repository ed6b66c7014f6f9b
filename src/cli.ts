#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2
// The flag caps V8's young generation on this (SMTP) thread, which only node's command line can set: left at its
// default it grew to ~16 MB per semi-space under load, ~27 MB of the daemon's peak RSS, for no measurable speed
// (bench: 201.8 → 174.7 MB at the same mails/s). MALLOC_ARENA_MAX=2: glibc gives each thread that allocates
// (SMTP, work, HTML and libuv's pool) arenas of its own, and the mail buffers freed in them stay in RSS
// (bench:hostile: 258 → 246 MB during, 181 → 159 MB after). package.json's start and the systemd unit set both.
/** The command line: one sub-command per job, each a thin shell over a module that does the work. */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, configWarnings, loadConfig } from './config/load.js';
import { queueReport, type QueueOptions } from './commands/queue.js';
import { SMS_STATES } from './spool/types.js';
import { parseCount, parseDuration } from './commands/option-values.js';
import { UsageError } from './errors.js';
import { readPassword } from './commands/read-password.js';
import { serve } from './commands/serve.js';
import { replyFromStdin } from './simulator/input.js';
import { SmscSimulator } from './simulator/smsc.js';
import { createLogger } from './ops/log.js';
import { hashPassword } from './smtp/auth.js';
import { checkConfig } from './commands/check-config.js';
import { runnableConfig } from './config/files.js';
import { configReferenceMarkdown } from './config/reference.js';
import { repliesMarkdown } from './replies.js';
import { encodeReportJson, encodeReportText } from './commands/encode.js';
import { isReplyError } from './errors.js';
import { openQueueReader } from './spool/open.js';
import { smsOptionsFrom } from './config/sms-options.js';
import { prepareSms, type SmsOptions } from './sms/prepare.js';
import { createRefCounter } from './sms/segment.js';

/** Read at run time, so an installed copy reports the version it was installed as. */
const packageJson = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
const { version } = JSON.parse(packageJson) as { version: string };

/** An option value the parser refuses becomes commander's "argument … is invalid. <why>" line. */
const optionValue =
  <T>(parse: (text: string) => T) =>
  (text: string): T => {
    try {
      return parse(text);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };

const program = new Command()
  .name('smtp2sms')
  .description('SMTP-to-SMS bridge: mail to <phone>@<sms-domain> relayed as SMS over SMPP')
  .version(version, '-V, --version', 'print the version')
  // Before the sub-commands, which copy it: a bad option value is bad input, exit 2 like an invalid config.
  .exitOverride((err) => {
    if (err.code === 'commander.invalidArgument') process.exit(2);
  })
  .showHelpAfterError();

program
  .command('serve')
  .description('run the daemon: SMTP in, SMS out')
  .option('-c, --config <file>', 'YAML config file (required, except for the demo: SMTP2SMS_SIMULATOR_ENABLED=true)')
  .option('--log-pretty', 'human-readable logs for a terminal')
  .action(async (opts: { config?: string; logPretty?: boolean }) => {
    const loaded = loadConfig(opts.config, process.env);
    // The built-in defaults relay to an SMSC on 127.0.0.1:2775: only the demo, whose simulator is that SMSC, runs
    // on them; anything else must say what it is.
    if (opts.config === undefined && !loaded.simulator.enabled) {
      throw new UsageError(
        'serve needs --config FILE: without one it would run on the built-in defaults and relay to ' +
          `${loaded.smpp.url}. ` +
          'Give the config (the systemd unit: /etc/smtp2sms/smtp2sms.yaml); for the demo run `npm start` or set ' +
          'SMTP2SMS_SIMULATOR_ENABLED=true; a config wholly from SMTP2SMS_* variables: --config /dev/null',
      );
    }
    // The node id on every line from the first (config warnings, start, stop); the daemon's children keep it.
    const log = createLogger(loaded.log.level, { pretty: opts.logPretty ?? false }).child({ node: loaded.node.id });
    // Every file the config names is read now, as check-config does: a missing or unreadable one is a config
    // error naming its key (exit 2), not an EACCES from deep inside the start.
    const { config, used, warnings } = runnableConfig(loaded, process.env, opts.config ?? 'defaults');
    for (const w of [...configWarnings(config), ...warnings]) log.warn(w);
    for (const u of used) log.info(u, `${u.key}: read from its systemd credential`);
    await serve(config, log, opts.logPretty ?? false, opts.config);
  });

program
  .command('hash-password')
  .description('ask for a password (twice, not echoed; or one line on standard input), print its scrypt hash')
  .action(async () => {
    process.stdout.write(`${await hashPassword(await readPassword(process.stdin, process.stderr))}\n`);
  });

program
  .command('queue')
  .description('show the spool: counts by state and recent messages, or one message')
  .option('-c, --config <file>', 'YAML config file (for spool.path)')
  .option('--id <id>', 'one message: row id or queue id')
  .addOption(new Option('--state <state>', 'list only messages in this state').choices(SMS_STATES))
  .option('--since <duration>', 'list only messages accepted since (30s, 15m, 2h, 7d)', optionValue(parseDuration))
  .option('--limit <n>', 'most messages to list, newest first', optionValue(parseCount), 20)
  .option('--json', 'JSON for scripts')
  .action(async (opts: QueueFlags) => {
    const config = loadConfig(opts.config, process.env);
    // Read-only, without the daemon's set-up: a running daemon's writes never wait for (or fail because of) it.
    const spool = await openQueueReader(config);
    try {
      const report = await queueReport(spool, {
        ...(opts.id ? { id: opts.id } : {}),
        ...(opts.state ? { state: opts.state } : {}),
        ...(opts.since !== undefined ? { sinceMs: opts.since } : {}),
        limit: opts.limit,
        json: opts.json ?? false,
        now: Date.now(),
      });
      process.stdout.write(`${report}\n`);
    } finally {
      await spool.close();
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
  .option('--auto-reply <text>', 'the phone answers every SMS with this text')
  .option('--auto-reply-delay-ms <ms>', 'wait before the auto-reply', (v) => Number.parseInt(v, 10), 2000)
  .addHelpText(
    'after',
    '\nA phone can also answer by hand: type "reply <phone> <to> <text>" and Enter on standard input,\n' +
      'e.g. reply +79991234567 Alerts On my way',
  )
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
        autoReply: opts.autoReply ? { text: opts.autoReply, delayMs: opts.autoReplyDelayMs } : undefined,
      },
      (line) => process.stdout.write(`${line}\n`),
    );
    const port = await sim.listen(opts.port, opts.host);
    process.stdout.write(`SMSC simulator listening on ${opts.host}:${port}\n`);
    replyFromStdin(sim, (line) => process.stdout.write(`${line}\n`));
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
  .command('replies-reference')
  .description('print every SMTP reply smtp2sms gives (when, code, enhanced code, text, why) as a Markdown table')
  .action(() => {
    process.stdout.write(`${repliesMarkdown()}\n`);
  });

program
  .command('check-config')
  .description(
    'validate a config file and the files it names; print the effective config (secrets masked); exit 2 when invalid',
  )
  .requiredOption('-c, --config <file>', 'YAML config file')
  .option('-q, --quiet', 'print nothing when the config is valid (problems and warnings still go to stderr)')
  .action((opts: { config: string; quiet?: boolean }) => {
    const { output, warnings } = checkConfig(opts.config, process.env, { quiet: opts.quiet ?? false });
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(output);
  });

interface QueueFlags {
  config?: string;
  id?: string;
  state?: QueueOptions['state'];
  /** --since in ms. */
  since?: number;
  limit: number;
  json?: boolean;
}

interface SimulateFlags {
  host: string;
  port: number;
  autoReply?: string;
  autoReplyDelayMs: number;
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
    const text =
      words.length === 0 || (words.length === 1 && words[0] === '-') ? readFileSync(0, 'utf8') : words.join(' ');
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
    process.stdout.write(
      flags.json ? `${JSON.stringify(encodeReportJson(sms))}\n` : `${encodeReportText(sms, flags.hex ?? false)}\n`,
    );
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof ConfigError || e instanceof UsageError) {
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
