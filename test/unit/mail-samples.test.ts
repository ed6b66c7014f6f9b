/** Each real-world sample becomes the SMS text the samples' README gives (default config unless stated). */
import { describe, expect, it } from 'vitest';
import { parseMail, type MailOptions } from '../../src/mail/parse.js';
import { prepareSms, type SmsOptions } from '../../src/sms/prepare.js';
import { sample } from '../helpers/samples.js';

const mailDefaults: MailOptions = { defaultCharset: 'utf-8', commentPrefix: '', subject: 'prepend', maxHtmlLength: 1_000_000 };
const smsDefaults: SmsOptions = {
  profile: 'generic', allowLatin1: false, smartEncoding: true, transliterate: false, concatenation: 'udh8',
  maxParts: 10, onTooLong: 'reject',
};

async function smsText(name: string, mail: Partial<MailOptions> = {}) {
  const content = await parseMail(sample(name), { ...mailDefaults, ...mail });
  const sms = prepareSms(content.text, smsDefaults);
  return { content, sms, text: sms.text };
}

describe('mail samples → SMS text', () => {
  it('Nagios: subject + body, blank-line runs at most one', async () => {
    const { text, sms } = await smsText('nagios-service-alert.eml');
    expect(text).toBe(
      '** PROBLEM Service Alert: db1/Disk /var is CRITICAL **\n***** Nagios *****\n\nNotification Type: PROBLEM\n\n' +
        'Service: Disk /var\nHost: db1\nAddress: 10.0.0.11\nState: CRITICAL\n\nDate/Time: Tue Nov 24 03:12:45 UTC 2026\n\n' +
        'Additional Info:\n\nDISK CRITICAL - free space: /var 812 MB (4% inode=91%):',
    );
    expect(sms.coding).toBe('gsm7');
    expect((await smsText('nagios-service-alert.eml', { subject: 'only' })).text).toBe(
      '** PROBLEM Service Alert: db1/Disk /var is CRITICAL **',
    );
  });

  it('Zabbix: RFC 2047 subject, base64 UTF-8 body', async () => {
    const { text } = await smsText('zabbix-problem.eml');
    expect(text).toBe(
      'Problem: High CPU utilization (over 90% for 5m)\nProblem started at 03:14:02 on 2026.11.24\n' +
        'Problem name: High CPU utilization (over 90% for 5m)\nHost: web3\nSeverity: High\n' +
        'Operational data: Current utilization: 97.2 %\nOriginal problem ID: 481516',
    );
  });

  it('Alertmanager: HTML only → readable text without tags, CSS or URLs; subject only', async () => {
    const { text, content } = await smsText('alertmanager-firing.eml');
    expect(content.fromHtml).toBe(true);
    expect(text).not.toMatch(/<|>|\{|font-family|http:|=3D/);
    expect(text).toContain('summary = Instance web3:9100 down');
    expect(text).toContain('description = web3:9100 has been down for more than 5 minutes.');
    expect(text).not.toContain('Sent by Alertmanager');
    expect(text.startsWith('[FIRING:1] InstanceDown (web3:9100 node page)\n1 alert for alertname=InstanceDown job=node')).toBe(true);
    expect((await smsText('alertmanager-firing.eml', { subject: 'only' })).text).toBe('[FIRING:1] InstanceDown (web3:9100 node page)');
  });

  it('Zabbix HTML media type, problem and recovery: one line per table row, cells apart, &nbsp; a space', async () => {
    expect((await smsText('zabbix-html-problem.eml')).text).toBe(
      'Problem: High CPU utilization\nProblem started at 03:14:02\nHost | web3\nSeverity | High\n' +
        'Value | 97.2 % > 90 % & rising\nStarted | 03:14:02 on 2026.11.24\nOriginal problem ID: 481516',
    );
    expect((await smsText('zabbix-html-recovery.eml')).text).toBe(
      'Resolved in 12m: High CPU utilization\nProblem has been resolved at 03:26:05\nHost | web3\nSeverity | High\n' +
        'Duration | 12m 3s\nOriginal problem ID: 481516',
    );
  });

  it('cron: 8bit UTF-8', async () => {
    expect((await smsText('cron-output.eml')).text).toBe(
      'Cron <root@backup1> /usr/local/bin/nightly-backup\nrsync: write failed on "/mnt/backup/db1.tar": No space left on device (28)\nbackup FAILED after 312 s',
    );
  });

  it('Outlook: windows-1252 QP, From:/Sent: block and disclaimer dropped, – and ’ become GSM', async () => {
    const { text, sms } = await smsText('outlook-reply-disclaimer.eml');
    expect(text).toBe(
      "RE: payment service degraded\nPlease restart the payment service now - it's urgent.\n\nBest regards,\nJohn Smith\nHead of Operations",
    );
    expect(sms.coding).toBe('gsm7');
    expect(sms.replacements.map((r) => r.from)).toEqual(['–', '’']);
  });

  it('Thunderbird: format=flowed joined, "-- " signature dropped', async () => {
    expect((await smsText('thunderbird-flowed-signature.eml')).text).toBe(
      'import done\nThe nightly import finished with 3 warnings, see the log on import2 under /var/log/import. Nothing to do tonight.',
    );
  });

  it('legacy KOI8-R without any MIME headers, with smtp.default_charset: koi8-r → UCS-2', async () => {
    const { text, sms } = await smsText('legacy-koi8r-no-charset.eml', { defaultCharset: 'koi8-r' });
    expect(text).toBe('ALARM\nКотельная N3: давление 0.2 МПа ниже нормы');
    expect(sms.coding).toBe('ucs2');
  });

  it('legacy KOI8-R with the default utf-8 is refused with a clear reason, not garbled', async () => {
    await expect(parseMail(sample('legacy-koi8r-no-charset.eml'), mailDefaults)).rejects.toMatchObject({
      responseCode: 550,
      enhanced: '5.6.0',
      message: expect.stringContaining('smtp.default_charset'),
    });
  });

  it('Gmail: plain part used, "On … wrote:" and > quotes dropped', async () => {
    expect((await smsText('gmail-reply-quoted.eml')).text).toBe('Re: r1 BGP down\nYes, switching to the standby router now.');
  });

  it('iPhone: empty subject, sign-off dropped, attachment ignored and reported', async () => {
    const { text, content } = await smsText('iphone-with-attachment.eml');
    expect(text).toBe('Door sensor in server room B triggered, checking camera.');
    expect(content.attachments).toEqual([expect.objectContaining({ filename: 'IMG_0042.jpg', contentType: 'image/jpeg' })]);
  });

  it('Russian text with a ~~~ comment section: text and comment apart', async () => {
    const { text, content } = await smsText('comment-section-ru.eml');
    expect(text).toBe('Ваш код подтверждения: 4711');
    expect(content.comment).toBe('заказ 2026-11-24-77, клиент Иванов');
    expect(content.messageId).toBe('<bill-2026-11-24-77@example.org>');
  });
});
