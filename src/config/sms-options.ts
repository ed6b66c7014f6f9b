/** The text pipeline's options as the configuration states them. */
import type { Config } from './schema.js';
import type { SmsOptions } from '../sms/prepare.js';

export function smsOptionsFrom(config: Config): SmsOptions {
  return {
    profile: config.smpp.profile,
    systemType: config.smpp.system_type,
    allowLatin1: config.sms.allow_latin1,
    smartEncoding: config.sms.smart_encoding,
    transliterate: config.sms.transliterate,
    concatenation: config.smpp.concatenation,
    maxParts: config.sms.max_parts,
    onTooLong: config.sms.on_too_long,
  };
}
