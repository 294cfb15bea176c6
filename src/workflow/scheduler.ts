/** The default {@link Scheduler}: `setTimeout`. Its timers die with the process; a restarted workflow re-reads its wake times from storage and asks again. */
import type { Scheduler } from './types.ts';

// setTimeout takes at most 2^31 - 1 ms (~24.8 days); a longer wait is woken early and re-requested.
const MAX_DELAY = 2 ** 31 - 1;

/** A scheduler on `setTimeout`, measuring delays with `now` (the workflow's clock). */
export function timerScheduler(now: () => number = Date.now): Scheduler {
  const timers = new Map<() => void, ReturnType<typeof setTimeout>>();
  const cancel = (wake: () => void) => {
    const timer = timers.get(wake);
    if (timer !== undefined) clearTimeout(timer);
    timers.delete(wake);
  };
  return {
    schedule(at, wake) {
      cancel(wake);
      const delay = Math.min(MAX_DELAY, Math.max(0, at - now()));
      timers.set(
        wake,
        setTimeout(() => {
          timers.delete(wake);
          wake();
        }, delay),
      );
    },
    cancel,
  };
}
