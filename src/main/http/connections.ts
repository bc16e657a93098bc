import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/**
 * Which sockets have a request in flight, so shutdown can end the rest at once. Node's own
 * closeIdleConnections skips a socket that has not sent a request yet, and browsers open such
 * sockets ahead of time (Chromium preconnects; undici opens one when a fetch is aborted): each
 * kept server.close() waiting until the drain deadline cut it (measured: the full 5 s).
 */
export interface Connections {
  /** From now on a socket ends as soon as it has nothing in flight; those idle now end at once. */
  endIdle(): void
}

export function trackConnections(server: Server): Connections {
  const inFlight = new Map<Socket, number>()
  let ending = false
  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0)
    socket.once('close', () => inFlight.delete(socket))
  })
  server.on('request', (req, res) => {
    const socket = req.socket
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1)
    res.once('close', () => {
      const before = inFlight.get(socket)
      if (before === undefined) return // the socket has closed already
      const left = before - 1
      inFlight.set(socket, left)
      // As Node ends a connection it will not keep alive: what is still queued is written first.
      if (ending && left === 0) socket.destroySoon()
    })
  })
  return {
    endIdle() {
      ending = true
      for (const [socket, n] of inFlight) if (n === 0) socket.destroy()
    },
  }
}
