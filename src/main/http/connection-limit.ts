import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/**
 * At most `perAddress` open connections from one address: further ones are closed as they
 * arrive. A client that opens sockets and never finishes a request (or never sends one) can then
 * hold only its own share of the process's file descriptors, and everyone else keeps getting
 * answers. Counted by the socket's own address, which a client cannot choose.
 */
export function limitConnectionsPerAddress(server: Server, perAddress: number): void {
  const open = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown'
    const count = open.get(address) ?? 0
    if (count >= perAddress) {
      socket.destroy()
      return
    }
    open.set(address, count + 1)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left <= 0) open.delete(address)
      else open.set(address, left)
    })
  })
}
