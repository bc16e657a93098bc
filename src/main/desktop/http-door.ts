import type { Logger } from '../core/logger.js'

/** The Koa server's part of the Settings. */
export interface HttpDoorSettings {
  enabled: boolean
  host: string
  port: number
}

/** What startHttpServer returns, as far as the desktop uses it. */
export interface RunningHttp {
  readonly url: string
  close(): Promise<void>
}

export interface HttpDoor {
  /** Where the REST API and /dashboard listen, or null when the server is off. */
  url(): string | null
  /**
   * Start, stop or move the server to match `settings`. Resolves true when the server now runs
   * as asked (or is off as asked); false when it could not start (the error is logged and the
   * server stays off: the window works over IPC regardless).
   */
  apply(settings: HttpDoorSettings): Promise<boolean>
  close(): Promise<void>
}

/**
 * The desktop's Koa server: optional (Settings can switch it off) and movable at run time, since
 * the window never needs it. Changes are applied one at a time in order.
 */
export function createHttpDoor(start: (host: string, port: number) => Promise<RunningHttp>, logger: Logger): HttpDoor {
  let running: { server: RunningHttp; host: string; port: number } | null = null
  let queue: Promise<unknown> = Promise.resolve()
  let closed = false

  const stop = async () => {
    const current = running
    running = null
    if (current) await current.server.close()
  }

  const enqueue = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work)
    queue = next.catch(() => undefined)
    return next
  }

  return {
    url: () => running?.server.url ?? null,
    apply(settings) {
      return enqueue(async () => {
        if (closed) return false
        if (!settings.enabled) {
          await stop()
          return true
        }
        if (running && running.host === settings.host && running.port === settings.port) return true
        await stop()
        try {
          const server = await start(settings.host, settings.port)
          running = { server, host: settings.host, port: settings.port }
          logger.info({ url: server.url }, 'HTTP server listening (REST API and /dashboard)')
          return true
        } catch (err) {
          logger.error({ err, host: settings.host, port: settings.port }, 'the HTTP server could not start: it stays off')
          return false
        }
      })
    },
    close() {
      closed = true
      return enqueue(stop)
    },
  }
}
