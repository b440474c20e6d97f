import type { ServerResponse } from "node:http";
import { Writable } from "node:stream";
import type { BoundedCapture } from "./bounded-capture.ts";

/**
 * Streams the primary's answer to the client exactly as before while keeping a bounded copy for
 * comparison. Backpressure is the client's: a chunk is acknowledged only when the client took it.
 */
export class ResponseTee extends Writable {
  constructor(
    private readonly res: ServerResponse,
    private readonly capture: BoundedCapture,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.capture.add(chunk);
    if (this.res.write(chunk)) return done();
    const onDrain = () => {
      this.res.off("close", onClose);
      done();
    };
    const onClose = () => {
      this.res.off("drain", onDrain);
      done(new Error("client connection closed"));
    };
    this.res.once("drain", onDrain);
    this.res.once("close", onClose);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.res.end(done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (error) this.res.destroy(error);
    done(error);
  }
}
