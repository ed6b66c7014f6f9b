/**
 * The sender (source_addr) and its TON/NPI, decided by its form: an alphanumeric name, an international number
 * or a short code. SMSCs refuse a wrong TON/NPI for a sender, often with an error that names neither.
 */
export type SenderKind = 'alphanumeric' | 'international' | 'shortcode';

export interface Sender {
  addr: string;
  ton: number;
  npi: number;
  kind: SenderKind;
}

export interface SenderOverrides {
  /** Replaces the TON the form implies (e.g. a provider that wants TON 5 NPI 1 for names). */
  ton?: number | null | undefined;
  npi?: number | null | undefined;
}

/** What a sender name may hold: 11 GSM-safe characters, at least one a letter. */
const ALPHANUMERIC = /^[A-Za-z0-9 .\-_&]{1,11}$/;

export class SenderError extends Error {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`sender "${input}": ${reason}`);
    this.name = 'SenderError';
  }
}

function classify(input: string): Omit<Sender, 'addr'> & { addr: string } {
  const s = input.trim();
  if (s === '') throw new SenderError(input, 'empty');
  if (/^\+?\d+$/.test(s)) {
    const digits = s.replace(/^\+/, '');
    if (digits.length < 3) throw new SenderError(input, 'a numeric sender needs at least 3 digits');
    if (digits.length > 15) throw new SenderError(input, 'a numeric sender has at most 15 digits');
    if (digits.length <= 8 && !s.startsWith('+')) return { addr: digits, ton: 3, npi: 0, kind: 'shortcode' };
    return { addr: digits, ton: 1, npi: 1, kind: 'international' };
  }
  if (!/[A-Za-z]/.test(s)) throw new SenderError(input, 'an alphanumeric sender needs at least one Latin letter');
  if (s.length > 11)
    throw new SenderError(input, `an alphanumeric sender has at most 11 characters, this one has ${s.length}`);
  if (!ALPHANUMERIC.test(s))
    throw new SenderError(input, 'an alphanumeric sender may hold only Latin letters, digits, space and . - _ &');
  return { addr: s, ton: 5, npi: 0, kind: 'alphanumeric' };
}

export function parseSender(input: string, overrides: SenderOverrides = {}): Sender {
  const sender = classify(input);
  return {
    ...sender,
    ton: overrides.ton ?? sender.ton,
    npi: overrides.npi ?? sender.npi,
  };
}
