import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** A small real HTTP server on 127.0.0.1:0 for tests, that counts its open connections. */
export interface Fixture {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** Connections open right now. */
  openConnections(): number;
  close(): Promise<void>;
}

export async function startFixture(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Fixture> {
  const server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    openConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
