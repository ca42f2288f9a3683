// Serialises the writes of one file store in this process, so each one reads the state the
// previous one wrote (the cross-process WriteLock alone would also work, but would poll).

/** A FIFO queue of async tasks that run one at a time. */
export class WriteQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled; resolves with its result. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every task queued so far has settled. */
  async drain(): Promise<void> {
    await this.#tail;
  }
}
