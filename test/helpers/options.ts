/** The mail and SMS stages' options that unit tests start from; each test spreads its differences over them. */
import type { MailOptions } from '../../src/mail/parse.js';
import type { SmsOptions } from '../../src/sms/prepare.js';

export const MAIL_OPTIONS: MailOptions = {
  defaultCharset: 'utf-8',
  commentPrefix: '',
  subject: 'prepend',
  maxHtmlLength: 1_000_000,
};

export const SMS_OPTIONS: SmsOptions = {
  profile: 'generic',
  allowLatin1: false,
  smartEncoding: true,
  transliterate: false,
  concatenation: 'udh8',
  maxParts: 10,
  onTooLong: 'reject',
};
