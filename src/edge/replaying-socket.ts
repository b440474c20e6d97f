import type { Socket } from "node:net";
import { Duplex } from "node:stream";

/**
 * A stream over `socket` that first yields `first` (bytes already read from it), then what the socket
 * receives. HTTP/2 sessions read a TCP socket's handle directly, past anything unshifted back onto the
 * JavaScript stream, so a connection whose first bytes were read to tell h2c from HTTP/1.1 is handed to
 * the HTTP/2 server as this stream (Node wraps it in a JS stream socket; used for h2c only).
 */
export function replayingSocket(socket: Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, done) {
      socket.write(chunk, done);
    },
    final(done) {
      socket.end();
      done();
    },
    destroy(error, done) {
      socket.destroy(error ?? undefined);
      done(error);
    },
  });
  for (const name of ["remoteAddress", "remotePort", "remoteFamily", "localAddress", "localPort"] as const) {
    Object.defineProperty(stream, name, { get: () => socket[name] });
  }
  stream.push(first);
  socket.on("data", (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause(); // back-pressure: read() resumes it
  });
  socket.once("end", () => stream.push(null));
  socket.once("error", (error) => stream.destroy(error));
  socket.once("close", () => stream.destroy());
  socket.resume();
  return stream;
}
