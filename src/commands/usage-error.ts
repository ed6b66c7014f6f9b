/** Bad input on the command line that the user must fix (a missing file, a bad value): exit code 2, no stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
