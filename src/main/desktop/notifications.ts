import { Notification } from 'electron'
import type { EngineEventBus } from '../core/events.js'
import type { Logger } from '../core/logger.js'
import { NotificationPolicy, type DesktopNotification, type NotificationPolicyOptions, type NotificationPrefs, type Pressure } from './notification-policy.js'

/*
 * The desktop app's native notifications: engine events and memory pressure go through
 * notification-policy.ts, which decides what is worth showing.
 */

export interface NotificationDeps {
  events: Pick<EngineEventBus, 'on'>
  /** The monitor's current reading (runtime.monitor.health().janitor / .container). */
  readPressure: () => { pressure: Pressure; memory_percent: number }
  prefs: () => NotificationPrefs
  logger: Logger
  /** A click on a notification brings the window forward. */
  onClick: (n: DesktopNotification) => void
  now?: () => number
  options?: NotificationPolicyOptions
  /** How often the pressure is read between janitor runs (default 1 s, the monitor's own rate). */
  pressurePollMs?: number
}

/** One native notification (when the system has them); a click runs `onClick`. */
export function showNotification(n: { title: string; body: string }, logger: Logger, onClick?: () => void): void {
  if (!Notification.isSupported()) return
  try {
    const native = new Notification({ title: n.title, body: n.body })
    if (onClick) native.on('click', onClick)
    native.show()
  } catch (err) {
    logger.warn({ err, title: n.title }, 'could not show a notification')
  }
}

/** Native notifications for a browser crash, memory pressure turning HIGH and an error burst. */
export function startNotifications(deps: NotificationDeps): { dispose(): void } {
  const policy = new NotificationPolicy(deps.prefs, deps.now ?? Date.now, deps.options)
  const show = (n: DesktopNotification | null) => {
    if (n) showNotification(n, deps.logger, () => deps.onClick(n))
  }
  const readPressure = () => {
    try {
      const reading = deps.readPressure()
      show(policy.pressureReading(reading.pressure, reading.memory_percent))
    } catch (err) {
      deps.logger.warn({ err }, 'notifications: could not read memory pressure')
    }
  }
  const offs = [
    deps.events.on('browser:crashed', (e) => show(policy.browserCrashed(e))),
    deps.events.on('request:finished', (e) => {
      // A request the client walked away from is not the service failing.
      if (!e.success && !e.aborted) show(policy.requestFailed())
    }),
    deps.events.on('janitor:run', (e) => show(policy.pressureReading(e.pressure, e.memory_percent))),
    deps.events.on('alert:fired', (e) => show(policy.alertFired(e))),
  ]
  // The janitor runs only every 60 s at LOW pressure: poll the monitor's reading in between.
  const timer = setInterval(readPressure, deps.pressurePollMs ?? 1000)
  timer.unref()
  return {
    dispose() {
      clearInterval(timer)
      for (const off of offs) off()
    },
  }
}
