/**
 * A call's abort signal, made only when something asks for it. grpc-js
 * reports every stream's close as "cancelled", finished or not; building an
 * AbortController (and aborting it) on every call cost more than a cached
 * read. Closes after the handler finished are not cancellations.
 *
 * @example
 * const cancellation = new CallCancellation(call);
 * await work(cancellation.signal);
 * cancellation.finish();
 */
export class CallCancellation {
  #controller: AbortController | undefined;
  #cancelled = false;
  #finished = false;

  constructor(call: { on(event: "cancelled", listener: () => void): unknown }) {
    call.on("cancelled", () => {
      if (this.#finished) return;
      this.#cancelled = true;
      this.#controller?.abort();
    });
  }

  /** Whether the client went away (or its deadline passed) before the call finished. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#cancelled) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /** The handler is done: a close from now on is the normal end of the call. */
  finish(): void {
    this.#finished = true;
  }
}
