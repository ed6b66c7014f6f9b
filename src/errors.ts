/**
 * An error that knows the SMTP reply it should become. Every stage throws these for bad input, so the SMTP stage
 * never has to guess a code: `550 5.1.1 …` is decided where the problem is understood.
 */
export class ReplyError extends Error {
  constructor(
    /** Basic SMTP reply code, e.g. 550 (permanent) or 451 (temporary). */
    readonly responseCode: number,
    /** RFC 3463 enhanced status code, e.g. "5.1.1". */
    readonly enhanced: string,
    message: string,
  ) {
    super(message);
    this.name = 'ReplyError';
  }

  /** The reply line as a client sees it. */
  get reply(): string {
    return `${this.responseCode} ${this.enhanced} ${this.message}`;
  }
}

export const isReplyError = (e: unknown): e is ReplyError => e instanceof ReplyError;

/** Bad input on the command line that the user must fix (a missing file, a bad value): exit code 2, no stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
