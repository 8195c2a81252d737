/** An error in the user's input (file, flag, row): printed as one line, exit code 2. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * A command that ran to the end but whose verdict is "no" (verify-update found an invalid
 * update): main returns `code` without printing anything more.
 */
export class ExitStatus extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ExitStatus';
  }
}
