import type { Reply } from './replies.js';

/**
 * An error that knows the SMTP reply it should become (one of `replies` in replies.ts). Every stage throws these
 * for bad input, so the SMTP stage never has to guess a code: `550 5.1.1 …` is decided where the problem is
 * understood.
 */
export class ReplyError extends Error {
  constructor(
    readonly reply: Reply,
    /** What the log says; the reply's text unless the cause says more than the client should read. */
    message: string = reply.text,
  ) {
    super(message);
    this.name = 'ReplyError';
  }

  /** Basic SMTP reply code, e.g. 550 (permanent) or 451 (temporary). */
  get responseCode(): number {
    return this.reply.code;
  }

  /** RFC 3463 enhanced status code, e.g. "5.1.1". */
  get enhanced(): string {
    return this.reply.enhanced;
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
