/**
 * Wall-clock milliseconds to the second, for what is bucketed by the minute (a shadowed request's counted
 * outcome): one reading a second by an unref'd timer, where `Date.now()` per request cost ~250
 * instructions under callgrind. A count lands in the minute it was made, give or take that second.
 */
let nowMs = 0; // read when the clock is first asked, then once a second
let timer: NodeJS.Timeout | undefined;

export function coarseNowMs(): number {
  if (timer === undefined) {
    timer = setInterval(() => {
      nowMs = Date.now();
    }, 1_000);
    timer.unref();
    nowMs = Date.now();
  }
  return nowMs;
}
