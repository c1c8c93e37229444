import { progressLine } from "./progress.js";

/**
 * Progress on stderr for work in phases (reading, copying, checking): one
 * progress line per phase, each ended before the next begins.
 *
 * @example
 * const progress = phasedProgress(true);
 * progress.update("copying", 500, 10_000);
 * progress.done();
 */
export function phasedProgress(enabled: boolean): {
  update(phase: string, done: number, total: number): void;
  done(): void;
} {
  let phase: string | undefined;
  let line: ReturnType<typeof progressLine> | undefined;
  return {
    update(next, done, total) {
      if (next !== phase) {
        line?.done();
        phase = next;
        line = progressLine(enabled, `entries (${next})`, total > 0 ? total : undefined);
      }
      line?.update(done, total > 0 ? total : undefined);
    },
    done() {
      line?.done();
    },
  };
}
