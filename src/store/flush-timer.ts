/**
 * Runs `flush` every `everyMs` (an unref'd timer: it never keeps the process alive); the returned stop
 * function clears it and flushes once more, so nothing counted before a shutdown is lost.
 */
export function flushEvery(flush: () => Promise<void>, everyMs: number): () => Promise<void> {
  const timer = setInterval(() => void flush(), everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    return flush();
  };
}
