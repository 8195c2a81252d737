/** A publish or verify input the user must fix: one line naming the field, flag or slice (CLI exit 2). */
export class PublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishError';
  }
}
