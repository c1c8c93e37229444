/**
 * A progress line on stderr for long work: count, rate and, when the total is
 * known, an ETA; redrawn in place on a terminal, a line every few seconds
 * otherwise. Off with `--json` (output for scripts stays clean).
 *
 * @example
 * const progress = progressLine(true, "entries checked", 10_000);
 * progress.update(500);
 * progress.done();
 */
export function progressLine(
  enabled: boolean,
  what: string,
  total?: number,
): { update(done: number, total?: number): void; done(): void } {
  const started = Date.now();
  let last = 0;
  let shown = false;
  const tty = process.stderr.isTTY === true;
  const render = (done: number, known: number | undefined): string => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = done / seconds;
    const eta =
      known !== undefined && rate > 0 && known > done
        ? `, about ${formatSeconds((known - done) / rate)} left`
        : "";
    const of = known === undefined ? "" : `/${known}`;
    return `${done}${of} ${what} (${Math.round(rate)}/s${eta})`;
  };
  let latestTotal = total;
  return {
    update(done, newTotal) {
      if (newTotal !== undefined) latestTotal = newTotal;
      if (!enabled) return;
      const now = Date.now();
      if (now - last < (tty ? 200 : 5000)) return;
      last = now;
      shown = true;
      process.stderr.write(
        tty ? `\r\x1b[K${render(done, latestTotal)}` : `${render(done, latestTotal)}\n`,
      );
    },
    done() {
      if (enabled && shown && tty) process.stderr.write("\r\x1b[K");
    },
  };
}

function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 5400) return `${Math.ceil(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
