/**
 * What must be undone, in reverse order of setting up. One list serves a failed start-up and a
 * normal stop, so the two can never disagree about what was started.
 */
export class Teardown {
  private readonly steps: Array<() => void | Promise<void>> = [];

  add(step: () => void | Promise<void>): void {
    this.steps.push(step);
  }

  /** Runs every step, newest first; a failing step does not keep the others from running. */
  async run(onError: (err: unknown) => void = () => {}): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        onError(err);
      }
    }
  }
}
