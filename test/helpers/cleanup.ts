// An `after` hook's cleanup: every step is attempted even when an earlier one failed, and the failures
// are reported together at the end.
export class Cleanup {
  private readonly errors: unknown[] = [];

  /** Runs one step; a failure is kept (with `what` named), not thrown. */
  async attempt(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.errors.push(new Error(`cleanup: ${what}`, { cause: err }));
    }
  }

  /** Throws one AggregateError of every failed step, if any. */
  done(suite: string): void {
    if (this.errors.length) throw new AggregateError(this.errors, `${suite} cleanup failed`);
  }
}
