import { join } from 'node:path'
import { app, dialog, ipcMain, nativeImage, protocol, shell, type BrowserWindow } from 'electron'
import type { AppInfo, AppCommand } from '../../shared/ipc.js'
import { currentIdentity, type ProcessIdentity } from '../core/chromium/sandbox.js'
import type { ConfigInput } from '../core/config.js'
import type { LogFile } from '../core/log-file.js'
import type { Logger } from '../core/logger.js'
import { createRuntime, type Runtime, type RuntimeDeps } from '../core/runtime.js'
import { claimTempRun, type TempRun } from '../core/system/temp-root.js'
import { startHttpServer } from '../http/server.js'
import { allowedSenderFor, registerIpcDoor, type IpcDoor } from '../ipc/index.js'
import { applyAppIdentity } from './app-identity.js'
import { installAppMenu } from './app-menu.js'
import { APP_HOST, APP_SCHEME, APP_SCHEME_PRIVILEGES, appProtocolHandler } from './app-protocol.js'
import { rendererLocation } from './app-url.js'
import { sendAppCommand } from './app-commands.js'
import { handleMainErrors, watchChildProcesses, watchRenderer, type ErrorSource } from './crash-handling.js'
import { installHardening } from './hardening.js'
import { createHttpDoor, type HttpDoorSettings } from './http-door.js'
import { createMainWindow } from './main-window.js'
import type { NotificationPolicyOptions, NotificationPrefs } from './notification-policy.js'
import { showNotification, startNotifications } from './notifications.js'
import { applyLoginItem, launchedHidden, type LoginItemPrefs } from './login-item.js'
import { poolSummaryFrom } from './pool-summary.js'
import { rootRefusal } from './root-refusal.js'
import { installQuitHandler } from './shutdown.js'
import { claimSingleInstance, focusWindow } from './single-instance.js'
import { createTray, type AppTray } from './tray.js'
import { installWindowLifecycle, oncePerInstall, TRAY_HINT } from './window-lifecycle.js'

/** The Settings as far as the desktop shell reads them (the engine's SettingsService satisfies it). */
export interface DesktopSettingsSource {
  current(): { http_enabled: boolean; host: string; port: number; notifications: NotificationPrefs; close_to_tray: boolean } & LoginItemPrefs
  onChange(
    listener: (change: { settings: { http_enabled: boolean; host: string; port: number } & LoginItemPrefs; changed: readonly string[] }) => unknown,
  ): () => void
}

export interface DesktopOptions {
  logger: Logger
  /** Built preload (out/preload/index.cjs). */
  preload: string
  /** Built renderer folder (out/renderer), served as app://crawldeck/. */
  rendererDir: string
  /** The electron-vite dev server; pass it only when the app is not packaged. */
  devRendererUrl?: string | undefined
  trayIcon: string
  /** Engine config laid under the saved Settings (tests turn launch_permanent off, etc.). */
  config?: ConfigInput
  runtimeDeps?: Partial<RuntimeDeps>
  notifications?: NotificationPolicyOptions
  /** Who the app runs as (tests); the real process by default. As root it refuses to start. Its platform is the one the shell acts for. */
  identity?: ProcessIdentity
  /** The rotating log file the logger writes to: the menu opens its folder, the quit closes it. */
  logFile?: LogFile
  /** Where uncaught errors come from (tests pass an emitter); the real process by default. */
  errorSource?: ErrorSource
  /** This launch's arguments (process.argv): --hidden opens no window. */
  argv?: readonly string[]
  /** The executable a login start runs (process.execPath), and the AppImage file when run from one. */
  execPath?: string
  appImage?: string | undefined
}

export interface DesktopApp {
  readonly runtime: Runtime
  window(): BrowserWindow | null
  httpUrl(): string | null
}

const HTTP_KEYS = ['http_enabled', 'host', 'port'] as const
const LOGIN_KEYS = ['start_at_login', 'start_hidden'] as const

/**
 * The desktop app, assembled: one engine, its two doors (IPC for the window, Koa for remote use),
 * the hardened window, tray, menu and notifications, and one orderly quit. The window is a view
 * onto a service: with close_to_tray (window-lifecycle.ts) closing it leaves everything else
 * running, and crashes on the way are logged, reported and survived (crash-handling.ts). Returns null in a
 * second instance (which quits at once) and as root (which exits 1 after saying why: nothing is
 * started, not even the single-instance lock). src/main/index.ts only supplies the paths.
 */
export async function startDesktop(opts: DesktopOptions): Promise<DesktopApp | null> {
  const { logger } = opts
  const identity = opts.identity ?? currentIdentity()
  const { platform } = identity
  const refusal = rootRefusal(identity)
  if (refusal !== null) {
    logger.error(refusal)
    // Safe before 'ready'; on Linux at that point Electron prints it to stderr instead of a dialog.
    dialog.showErrorBox('crawldeck cannot run as root', refusal)
    app.exit(1)
    return null
  }
  let win: BrowserWindow | null = null
  // A launch while this one starts: the window is opened once there is one to open.
  let revealAsked = false
  let reveal = () => void (revealAsked = true)
  // A second launch brings the window back (recreated if it was closed), unless it is a login
  // start asking for none.
  const onSecondLaunch = (argv: readonly string[]) => {
    if (!launchedHidden(argv)) reveal()
  }
  if (!claimSingleInstance(onSecondLaunch)) return null
  // Before anything can show a notification: Windows shows them only for a declared identity.
  applyAppIdentity(app, platform)

  const renderer = rendererLocation({ devUrl: opts.devRendererUrl, root: opts.rendererDir })
  const isAppUrl = allowedSenderFor(renderer.kind === 'url' ? { rendererUrl: renderer.url } : { appOrigin: `${APP_SCHEME}://${APP_HOST}` })
  // Only possible before 'ready'. A standard, secure scheme: the renderer gets a real origin (so
  // the sender check and the CSP's 'self' mean exactly app://crawldeck) instead of file://'s
  // opaque one, whose extra privileges the GrantFileProtocolExtraPrivileges fuse turns off.
  if (renderer.kind === 'app') protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { ...APP_SCHEME_PRIVILEGES } }])
  installHardening({ isAppUrl, logger })

  let runtime: Runtime | null = null
  let tempRun: TempRun | null = null
  let ipcDoor: IpcDoor | null = null
  let tray: AppTray | null = null
  let notifications: { dispose(): void } | null = null
  const offSettings: Array<() => void> = []
  let offErrors: (() => void) | null = null
  let booting: Promise<unknown> = Promise.resolve()
  // Set once a quit has begun: a start-up still under way then stops adding parts.
  let stopping = false
  const httpDoor = createHttpDoor(async (host, port) => {
    if (!runtime) throw new Error('the engine is not running')
    return startHttpServer(runtime, { host, port, logger })
  }, logger)

  const quit = installQuitHandler({
    app,
    logger,
    beforeShutdown: () => {
      stopping = true
      for (const off of offSettings) off()
      notifications?.dispose()
      tray?.destroy()
      ipcDoor?.dispose()
    },
    stopHttp: () => httpDoor.close(),
    closeRuntime: async () => {
      // A quit during start-up waits for it, so a browser being launched is closed too.
      await booting.catch(() => undefined)
      try {
        await runtime?.close()
      } finally {
        tempRun?.remove()
      }
    },
    afterShutdown: async () => {
      offErrors?.()
      await opts.logFile?.close()
    },
  })
  offErrors = handleMainErrors({ source: opts.errorSource ?? process, logger, dialog, shutdown: (code) => quit.shutdown(code), logFile: opts.logFile?.path })
  watchChildProcesses(app, logger)
  const openLogFolder = () => {
    if (!opts.logFile) return
    const dir = opts.logFile.dir
    shell.openPath(dir).then(
      (problem) => problem && logger.warn({ dir, problem }, 'could not open the log folder'),
      (err: unknown) => logger.warn({ err, dir }, 'could not open the log folder'),
    )
  }
  // Set once the engine runs; until then a window closing (there is none) changes nothing.
  let openWindow: () => BrowserWindow | null = () => null
  let closeToTray = () => true
  let trayHint = (): void => undefined
  installWindowLifecycle({
    app,
    platform,
    closeToTray: () => closeToTray(),
    isQuitting: () => stopping,
    openWindow: () => void openWindow(),
    onFirstCloseToTray: () => trayHint(),
  })

  const boot = async (): Promise<DesktopApp | null> => {
    await app.whenReady()
    if (stopping) return null
    if (renderer.kind === 'app') protocol.handle(APP_SCHEME, appProtocolHandler(renderer.root))
    const userData = app.getPath('userData')
    // Browser profiles and the like in a folder of this run's, which the next start sweeps
    // should this one be killed.
    tempRun = claimTempRun()
    if (tempRun.swept.length > 0)
      logger.warn({ removed: tempRun.swept }, `removed ${tempRun.swept.length} temp folder(s) left by crawldeck processes that ended without cleaning up`)
    runtime = await createRuntime({ data_dir: join(userData, 'data'), ...opts.config }, { logger, settingsDir: userData, ...opts.runtimeDeps })
    const engine = runtime
    if (stopping) return null
    const settings: DesktopSettingsSource = engine.settings

    const httpSettings = (s: { http_enabled: boolean; host: string; port: number }): HttpDoorSettings => ({
      enabled: s.http_enabled,
      host: s.host,
      port: s.port,
    })
    await httpDoor.apply(httpSettings(settings.current()))
    if (stopping) return null
    offSettings.push(
      settings.onChange(async (change) => {
        if (!change.changed.some((k) => (HTTP_KEYS as readonly string[]).includes(k))) return []
        const ok = await httpDoor.apply(httpSettings(change.settings))
        return ok ? HTTP_KEYS.filter((k) => change.changed.includes(k)) : []
      }),
    )

    // Start at login: the system's login start made to match the settings, now and on change.
    const loginItem = (prefs: LoginItemPrefs) => {
      try {
        applyLoginItem(app, prefs, { platform, execPath: opts.execPath ?? process.execPath, appImage: opts.appImage ?? process.env.APPIMAGE })
      } catch (err) {
        logger.warn({ err }, 'could not update the start at login')
      }
    }
    loginItem(settings.current())
    offSettings.push(
      settings.onChange((change) => {
        if (change.changed.some((k) => (LOGIN_KEYS as readonly string[]).includes(k))) loginItem(change.settings)
        return []
      }),
    )
    closeToTray = () => settings.current().close_to_tray

    const appInfo = (): AppInfo => ({ version: engine.version, http_url: httpDoor.url(), platform: process.platform })
    ipcDoor = registerIpcDoor({
      ipcMain,
      service: engine.service,
      live: engine.live,
      isAllowedSender: isAppUrl,
      appInfo,
      logger,
      maxInputBytes: engine.config.body_limit_bytes,
    })

    openWindow = () => {
      if (stopping) return null
      if (win && !win.isDestroyed()) {
        focusWindow(win)
        return win
      }
      const created = createMainWindow({ preload: opts.preload, renderer, stateFile: join(userData, 'window-state.json'), logger })
      watchRenderer(created, {
        logger,
        report: (r) => showNotification(r, logger),
        dialog,
        quit: () => app.quit(),
      })
      created.on('closed', () => {
        if (win === created) win = null
      })
      win = created
      return created
    }
    trayHint = oncePerInstall(join(userData, 'tray-hint-shown'), () => showNotification(TRAY_HINT, logger, () => void openWindow()), logger)
    // start_hidden (or a login start with --hidden): only the tray icon, the engine runs.
    const hidden = settings.current().start_hidden || launchedHidden(opts.argv ?? process.argv)
    if (!hidden || revealAsked) openWindow()
    reveal = () => void openWindow()

    let livePaused = false
    const command = (c: AppCommand) => sendAppCommand(win, c)
    const setLivePaused = (paused: boolean) => {
      livePaused = paused
      command({ type: 'set-live-paused', paused })
      tray?.update()
    }
    const forceCleanup = () => engine.service.monitorCleanup({}, { signal: new AbortController().signal, transport: 'ipc' })
    const logCleanupFailure = (err: unknown) => logger.warn({ err }, 'forced cleanup failed')

    installAppMenu({
      navigate: (view) => command({ type: 'navigate', view }),
      toggleLivePaused: () => setLivePaused(!livePaused),
      forceCleanup: () => void forceCleanup().catch(logCleanupFailure),
      openLogFolder,
      quit: () => app.quit(),
    })

    const icon = nativeImage.createFromPath(opts.trayIcon)
    if (icon.isEmpty()) logger.warn({ file: opts.trayIcon }, 'tray icon not found: the tray shows an empty icon')
    tray = createTray({
      icon,
      readSummary: () => poolSummaryFrom(engine.monitor.health()),
      isLivePaused: () => livePaused,
      actions: {
        open: () => void openWindow(),
        setLivePaused,
        forceCleanup,
        ...(opts.logFile ? { openLogFolder } : {}),
        quit: () => app.quit(),
      },
      logger,
    })

    notifications = startNotifications({
      events: engine.events,
      readPressure: () => {
        const h = engine.monitor.health()
        return { pressure: h.janitor.memory_pressure, memory_percent: h.container.memory_percent }
      },
      prefs: () => settings.current().notifications,
      onClick: (n) => {
        openWindow()
        if (n.kind !== 'memory_high') command({ type: 'navigate', view: 'monitor' })
      },
      logger,
      ...(opts.notifications ? { options: opts.notifications } : {}),
    })

    return { runtime: engine, window: () => win, httpUrl: () => httpDoor.url() }
  }

  const started = boot()
  booting = started
  try {
    return await started
  } catch (err) {
    logger.error({ err }, 'crawldeck could not start')
    await quit.shutdown(1)
    throw err
  }
}
