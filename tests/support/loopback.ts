/**
 * A real HTTP server on 127.0.0.1 (an ephemeral port) for tests of HTTP sources and
 * notifiers: `listen(handler)` gives its base URL and a close that drops open connections.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface Loopback {
  readonly base: string
  readonly close: () => Promise<void>
}

export const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Loopback> => {
  const http = createServer(handler)
  await new Promise<void>((done) => http.listen(0, "127.0.0.1", done))
  return {
    base: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((done) => {
        http.closeAllConnections()
        http.close(() => done())
      })
  }
}
