import type { RecordedExchange } from "../store/recording-store.ts";

interface Source {
  readonly id: number;
  buffer: RecordedExchange[];
  after: number;
  done: boolean;
  next: Promise<RecordedExchange[]> | undefined;
}

/**
 * The exchanges of several recordings in the order they happened (by time, then id), read a page at a
 * time from each (the next page read while this one is used): a session's POST /orders, recorded on
 * order-create, comes before its GET /orders/{id}, recorded on order-detail, so its id can be mapped.
 */
export async function* mergedExchanges(read: (recordingId: number, afterId: number, limit: number) => Promise<RecordedExchange[]>, recordingIds: readonly number[], page = 200): AsyncGenerator<RecordedExchange> {
  const sources: Source[] = recordingIds.map((id) => ({ id, buffer: [], after: 0, done: false, next: undefined }));
  const fill = async (s: Source) => {
    if (s.buffer.length > 0 || s.done) return;
    const rows = await (s.next ?? read(s.id, s.after, page));
    s.next = undefined;
    s.buffer = rows;
    if (rows.length < page) s.done = true;
    else {
      s.after = (rows.at(-1) as RecordedExchange).id;
      s.next = read(s.id, s.after, page);
    }
  };
  for (;;) {
    await Promise.all(sources.map(fill));
    let first: Source | undefined;
    for (const s of sources) {
      const head = s.buffer[0];
      if (!head) continue;
      const best = first?.buffer[0];
      if (!best || head.at < best.at || (head.at === best.at && head.id < best.id)) first = s;
    }
    if (!first) return;
    yield first.buffer.shift() as RecordedExchange;
  }
}
