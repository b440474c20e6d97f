/**
 * A shared allowance of bytes (request bodies buffered by the data plane may hold at once), so memory
 * stays bounded whatever the traffic: what cannot take its bytes does without (streams, or is skipped).
 */
export class ByteBudget {
  #used = 0;
  constructor(readonly limit: number) {}

  /** Takes `bytes` if they fit; false (and nothing taken) otherwise. */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
