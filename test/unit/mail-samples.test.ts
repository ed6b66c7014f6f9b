/** Each real-world sample becomes the SMS text the samples' README gives (default config unless stated). */
import { describe, expect, it } from 'vitest';
import { parseMail, type MailOptions } from '../../src/mail/parse.js';
import { prepareSms, type SmsOptions } from '../../src/sms/prepare.js';
import { sample } from '../helpers/samples.js';
import { MAIL_OPTIONS, SMS_OPTIONS } from '../helpers/options.js';

const mailDefaults = MAIL_OPTIONS;
const smsDefaults = SMS_OPTIONS;

async function smsText(name: string, mail: Partial<MailOptions> = {}, smsOptions: Partial<SmsOptions> = {}) {
  const content = await parseMail(sample(name), { ...mailDefaults, ...mail });
  const sms = prepareSms(content.text, { ...smsDefaults, ...smsOptions });
  return { content, sms, text: sms.text };
}

describe('mail samples → SMS text', () => {
  it('Nagios: subject + body, blank-line runs at most one', async () => {
    const { text, sms } = await smsText('nagios-service-alert.eml');
    expect(text).toBe(
      '** PROBLEM Service Alert: db1/Disk /var is CRITICAL **\n***** Nagios *****\n\nNotification Type: PROBLEM\n\n' +
        'Service: Disk /var\nHost: db1\nAddress: 10.0.0.11\nState: CRITICAL\n\nDate/Time: Tue Nov 24 03:12:45 ' +
        'UTC 2026\n\n' +
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
    expect(
      text.startsWith('[FIRING:1] InstanceDown (web3:9100 node page)\n1 alert for alertname=InstanceDown job=node'),
    ).toBe(true);
    expect((await smsText('alertmanager-firing.eml', { subject: 'only' })).text).toBe(
      '[FIRING:1] InstanceDown (web3:9100 node page)',
    );
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
      'Cron <root@backup1> /usr/local/bin/nightly-backup\nrsync: write failed on "/mnt/backup/db1.tar": No ' +
        'space left on device (28)\nbackup FAILED after 312 s',
    );
  });

  it('Outlook: windows-1252 QP, From:/Sent: block and disclaimer dropped, – and ’ become GSM', async () => {
    const { text, sms } = await smsText('outlook-reply-disclaimer.eml');
    expect(text).toBe(
      "RE: payment service degraded\nPlease restart the payment service now - it's urgent.\n\nBest " +
        'regards,\nJohn Smith\nHead of Operations',
    );
    expect(sms.coding).toBe('gsm7');
    expect(sms.replacements.map((r) => r.from)).toEqual(['–', '’']);
  });

  it('Thunderbird: format=flowed joined, "-- " signature dropped', async () => {
    expect((await smsText('thunderbird-flowed-signature.eml')).text).toBe(
      'import done\nThe nightly import finished with 3 warnings, see the log on import2 under /var/log/import. ' +
        'Nothing to do tonight.',
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
    expect((await smsText('gmail-reply-quoted.eml')).text).toBe(
      'Re: r1 BGP down\nYes, switching to the standby router now.',
    );
  });

  it('iPhone: empty subject, sign-off dropped, attachment ignored and reported', async () => {
    const { text, content } = await smsText('iphone-with-attachment.eml');
    expect(text).toBe('Door sensor in server room B triggered, checking camera.');
    expect(content.attachments).toEqual([
      expect.objectContaining({ filename: 'IMG_0042.jpg', contentType: 'image/jpeg' }),
    ]);
  });

  it('Russian text with a ~~~ comment section: text and comment apart', async () => {
    const { text, content } = await smsText('comment-section-ru.eml');
    expect(text).toBe('Ваш код подтверждения: 4711');
    expect(content.comment).toBe('заказ 2026-11-24-77, клиент Иванов');
    expect(content.messageId).toBe('<bill-2026-11-24-77@example.org>');
  });

  it('Grafana (unified alerting default email): no preheader, buttons, emoji or footer; GSM, 3 parts', async () => {
    const { text, sms, content } = await smsText('grafana-firing.eml');
    expect(content.fromHtml).toBe(true);
    expect(text).toBe(
      '[FIRING:1] HighCPU Infra (web3 critical)\nInfra > HighCPU\n1 firing instances\nHighCPU\n' +
        'Summary\nCPU usage on web3 is above 90%\nDescription\nCPU usage on web3 has been 97.2% for 5 minutes.\n' +
        'Values\nB=97.2 C=1\nLabels\nalertname | HighCPU\ngrafana_folder | Infra\ninstance | web3\nseverity | ' +
        'critical\n' +
        'Observed 4m 2s before this notification was delivered, at 2026-11-24 03:14:00 +0000 UTC',
    );
    expect(sms.coding).toBe('gsm7');
    expect(sms.smsCount).toBe(3);
  });

  it('Alertmanager default template (email.default.html): labels and annotations per alert, no button or footer', async () => {
    const { text, sms } = await smsText('alertmanager-default-template.eml');
    const alert = (device: string, host: string, mount: string, free: string) =>
      `Labels\nalertname = NodeFilesystemAlmostFull\ndevice = ${device}\ninstance = ${host}:9100\njob = node\n` +
      `mountpoint = ${mount}\nseverity = critical\nAnnotations\ndescription = Filesystem on ${device} at ${host}:9100 ` +
      `has only ${free}% available space left.\nsummary = Filesystem has less than 5% space left.\nSource`;
    expect(text).toBe(
      '[FIRING:2] NodeFilesystemAlmostFull (node critical)\n2 alerts for ' +
        'alertname=NodeFilesystemAlmostFull\n[2] Firing\n' +
        `${alert('/dev/sda1', 'db1', '/var', '3.9')}\n${alert('/dev/sdb1', 'db2', '/var/lib/postgresql', '4.6')}`,
    );
    expect(sms.smsCount).toBe(5);
    expect((await smsText('alertmanager-default-template.eml', { subject: 'only' })).text).toBe(
      '[FIRING:2] NodeFilesystemAlmostFull (node critical)',
    );
  });

  it('Jenkins email-ext groovy-html: "Label:" rows read as such; the console tail is cut at max_parts', async () => {
    const { text, sms } = await smsText('jenkins-build-failure.eml', {}, { maxParts: 6, onTooLong: 'truncate' });
    expect(text).toBe(
      'backend-api - Build # 142 - Failure!\nBUILD FAILURE\nURL: https://jenkins.example.org/job/backend-api/142/\n' +
        'Project: backend-api\nDate: Nov 24, 2026, 3:41:08 AM\nDuration: 44 sec\nCause: Started by an SCM change\n\n' +
        'CHANGES\nRevision 9f2c41e7b03d5a8c6e1f4b2d7a9c0e3f5b8d1a26 by Ivan Sokolov | Orders: look up by ' +
        'customer id\n' +
        'edit | src/main/java/org/example/api/OrderController.java\n' +
        'edit | src/main/java/org/example/repo/OrderRepository.java\n\n' +
        'CONSOLE OUTPUT\n[INFO] Scanning for projects...\n[INFO]\n' +
        '[INFO] ----------------------< org.example:backend-api >-----------------------\n' +
        '[INFO] Building backend-api 2.14.0-SNAPSHOT\n[INFO] from pom.xml\n' +
        '[INFO] --------------------------------[ jar ]---------------------------------\n[INFO]\n' +
        '[INFO] --- resources:3.3.1:resources (default-resources) @ backend-api ---\n' +
        '[INFO] Copying 4 resources from src/main/resources to target/classes\n[INFO]\n[INFO] ---...',
    );
    expect(sms).toMatchObject({ truncated: true, smsCount: 6, coding: 'gsm7' });
    await expect(smsText('jenkins-build-failure.eml')).rejects.toMatchObject({ responseCode: 550, enhanced: '5.3.4' });
    expect((await smsText('jenkins-build-failure.eml', { subject: 'only' })).text).toBe(
      'backend-api - Build # 142 - Failure!',
    );
  });

  it('Outlook HTML only (Word HTML): <o:p>, conditional comments and &nbsp; paragraphs; its marked signature dropped', async () => {
    const { text, sms } = await smsText('outlook-html-signature.eml');
    expect(text).toBe(
      'Server room door alarm\nHi all,\n\nServer room door alarm: please check. The door of server room B has ' +
        'reported ' +
        'open since 14:05 - nobody is signed in on the access list. Whoever is on site, please have a look and ' +
        'call me.\n\n' +
        'Thanks,\nAnna',
    );
    expect(sms.coding).toBe('gsm7');
    expect(sms.replacements.map((r) => r.from)).toEqual(['–']);
  });
});
