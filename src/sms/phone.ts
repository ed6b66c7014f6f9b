/**
 * Recipient numbers: whatever form a person types into a mail client's To: field becomes international digits
 * (`79991234567`, TON 1 / NPI 1), or an error that says what is wrong with it.
 */
import {
  parsePhoneNumberWithError,
  ParseError,
  validatePhoneNumberLength,
  type CountryCode,
} from 'libphonenumber-js/max';
import { ReplyError } from '../errors.js';
import { replies } from '../replies.js';

export interface Phone {
  /** International number, digits only, no `+`: what destination_addr carries. */
  digits: string;
  ton: 1;
  npi: 1;
  /** ISO 3166 country of the number, when known. */
  country: string | undefined;
}

export class PhoneError extends ReplyError {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(replies.badNumber(input, reason));
    this.name = 'PhoneError';
  }
}

const LENGTH_REASONS: Record<string, string> = {
  TOO_SHORT: 'too short',
  TOO_LONG: 'too long',
  INVALID_LENGTH: 'wrong number of digits',
  INVALID_COUNTRY: 'unknown country code',
  NOT_A_NUMBER: 'not a phone number',
};

/** Separators people and address books put in numbers. Anything else (letters above all) is refused. */
const ALLOWED = /^[+\d\s().-]+$/;

function tryParse(text: string, region: CountryCode) {
  try {
    const number = parsePhoneNumberWithError(text, region);
    return number.isValid() ? number : undefined;
  } catch {
    return undefined;
  }
}

function reasonFor(text: string, region: CountryCode): string {
  const length = validatePhoneNumberLength(text, region);
  if (length) return LENGTH_REASONS[length] ?? length.toLowerCase();
  try {
    const number = parsePhoneNumberWithError(text, region);
    return `not a valid number for country code +${number.countryCallingCode}`;
  } catch (e) {
    return e instanceof ParseError ? (LENGTH_REASONS[e.message] ?? e.message.toLowerCase()) : 'not a phone number';
  }
}

export function parsePhone(input: string, defaultRegion: string): Phone {
  const raw = input.trim();
  if (raw === '') throw new PhoneError(input, 'empty');
  if (/\p{L}/u.test(raw)) throw new PhoneError(input, 'contains letters; only digits, "+" and separators are allowed');
  if (!ALLOWED.test(raw)) throw new PhoneError(input, 'contains characters other than digits, "+" and separators');
  const region = defaultRegion.toUpperCase() as CountryCode;
  // "00" is the international prefix almost everywhere (libphonenumber only knows each region's own, e.g. 810).
  const text = raw.replace(/^00/, '+');
  const digitsOnly = text.replace(/\D/g, '');
  const number =
    tryParse(text, region) ??
    // A number typed without "+" for another country than the default region: "380501234567".
    (text.startsWith('+') ? undefined : tryParse(`+${digitsOnly}`, region));
  if (!number) throw new PhoneError(input, reasonFor(text, region));
  return { digits: number.number.slice(1), ton: 1, npi: 1, country: number.country };
}
