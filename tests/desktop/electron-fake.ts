import { EventEmitter } from 'node:events'

/*
 * A stand-in for the 'electron' module (its binary cannot run here). Test files install it with
 *   vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)
 * and read what the code under test did from `fake`. Only what src/main/desktop uses exists.
 */

export class FakeWebContents extends EventEmitter {
  static nextId = 1
  readonly id = FakeWebContents.nextId++
  readonly sent: Array<{ channel: string; args: unknown[] }> = []
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null
  destroyed = false
  reloads = 0
  constructor(readonly session: FakeSession) {
    super()
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args })
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  reload(): void {
    this.reloads++
  }
  /** Test helper: the renderer process ends, as Electron reports it. */
  processGone(reason: string, exitCode = 1): void {
    this.emit('render-process-gone', {}, { reason, exitCode })
  }
}

type HeadersListener = (
  details: { url: string; responseHeaders?: Record<string, string[]> },
  callback: (r: { responseHeaders?: Record<string, string[]> }) => void,
) => void

export class FakeSession {
  permissionRequestHandler: ((wc: unknown, permission: string, callback: (granted: boolean) => void, details: unknown) => void) | null = null
  permissionCheckHandler: ((wc: unknown, permission: string, origin: string, details: unknown) => boolean) | null = null
  devicePermissionHandler: ((details: unknown) => boolean) | null = null
  headersListener: HeadersListener | null = null
  readonly webRequest = {
    onHeadersReceived: (listener: HeadersListener) => {
      this.headersListener = listener
    },
  }
  setPermissionRequestHandler(h: FakeSession['permissionRequestHandler']): void {
    this.permissionRequestHandler = h
  }
  setPermissionCheckHandler(h: FakeSession['permissionCheckHandler']): void {
    this.permissionCheckHandler = h
  }
  setDevicePermissionHandler(h: FakeSession['devicePermissionHandler']): void {
    this.devicePermissionHandler = h
  }
}

export interface Bounds {
  x: number
  y: number
  width: number
  height: number
}

export class FakeBrowserWindow extends EventEmitter {
  readonly webContents: FakeWebContents
  readonly options: any
  bounds: Bounds
  maximized = false
  minimized = false
  visible = false
  focused = false
  destroyed = false
  loaded: { file?: string; url?: string } | null = null
  readonly calls: string[] = []
  constructor(options: any) {
    super()
    this.options = options
    this.bounds = { x: options.x ?? 0, y: options.y ?? 0, width: options.width ?? 800, height: options.height ?? 600 }
    this.webContents = new FakeWebContents(fake.defaultSession)
    fake.windows.push(this)
    // As Electron does: the app hears about the new webContents before anything loads.
    fake.app.emit('web-contents-created', {}, this.webContents)
  }
  loadFile(file: string): Promise<void> {
    this.loaded = { file }
    return Promise.resolve()
  }
  loadURL(url: string): Promise<void> {
    this.loaded = { url }
    return Promise.resolve()
  }
  maximize(): void {
    this.maximized = true
    this.calls.push('maximize')
  }
  isMaximized(): boolean {
    return this.maximized
  }
  isMinimized(): boolean {
    return this.minimized
  }
  restore(): void {
    this.minimized = false
    this.calls.push('restore')
  }
  show(): void {
    this.visible = true
    this.calls.push('show')
  }
  focus(): void {
    this.focused = true
    this.calls.push('focus')
  }
  getNormalBounds(): Bounds {
    return { ...this.bounds }
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  isVisible(): boolean {
    return this.visible && !this.destroyed
  }
  hide(): void {
    this.visible = false
    this.calls.push('hide')
  }
  /**
   * As the close button: 'close' (which a listener may prevent), then the window is destroyed,
   * 'closed', and the app's 'window-all-closed' when it was the last one.
   */
  close(): void {
    if (this.destroyed) return
    let prevented = false
    this.emit('close', { preventDefault: () => (prevented = true) })
    if (prevented) return
    this.destroy()
  }
  /** Gone without 'close' (as Electron's destroy()); 'closed' and 'window-all-closed' still follow. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.visible = false
    this.webContents.destroyed = true
    this.calls.push('destroy')
    this.emit('closed')
    if (fake.windows.every((w) => w.destroyed)) fake.app.emit('window-all-closed')
  }
  /** Test helper: the user drags/resizes the window. */
  moveTo(bounds: Partial<Bounds>): void {
    this.bounds = { ...this.bounds, ...bounds }
    this.emit('move')
  }
}

export class FakeApp extends EventEmitter {
  lockGranted = true
  readonly calls: Array<{ name: string; args: unknown[] }> = []
  exitCode: number | null = null
  private resolveExit: (code: number) => void = () => undefined
  /** Settles with the code of the first app.exit(). */
  readonly exited = new Promise<number>((resolve) => (this.resolveExit = resolve))
  isPackaged = false
  userData = '/nonexistent'
  /** app.getPath('logs'); the user-data folder's logs/ when not set (as on Linux and Windows). */
  logs: string | null = null
  appData = '/nonexistent-appdata'
  appPath = '/app'
  /** app.setLoginItemSettings calls, in order. */
  readonly loginItemSettings: any[] = []
  appUserModelId: string | null = null
  requestSingleInstanceLock(): boolean {
    this.calls.push({ name: 'requestSingleInstanceLock', args: [] })
    return this.lockGranted
  }
  quit(): void {
    this.calls.push({ name: 'quit', args: [] })
    // Electron asks before-quit listeners first; exit only if none held it.
    let held = false
    this.emit('before-quit', { preventDefault: () => (held = true) })
    if (!held) this.exit(0)
  }
  exit(code = 0): void {
    this.calls.push({ name: 'exit', args: [code] })
    this.exitCode = code
    this.resolveExit(code)
  }
  /** Set when whenReady() is first asked; the fake app is ready at once. */
  ready = false
  whenReady(): Promise<void> {
    this.ready = true
    return Promise.resolve()
  }
  getPath(name: string): string {
    if (name === 'userData') return this.userData
    if (name === 'logs') return this.logs ?? `${this.userData}/logs`
    if (name === 'appData') return this.appData
    throw new Error(`unexpected getPath(${name})`)
  }
  getAppPath(): string {
    return this.appPath
  }
  setLoginItemSettings(settings: unknown): void {
    this.calls.push({ name: 'setLoginItemSettings', args: [settings] })
    this.loginItemSettings.push(settings)
  }
  setAppUserModelId(id: string): void {
    this.calls.push({ name: 'setAppUserModelId', args: [id] })
    this.appUserModelId = id
  }
  callsOf(name: string): unknown[][] {
    return this.calls.filter((c) => c.name === name).map((c) => c.args)
  }
}

export class FakeTray {
  tooltip = ''
  menu: { template: any[] } | null = null
  destroyed = false
  constructor(readonly icon: unknown) {
    fake.trays.push(this)
  }
  setToolTip(text: string): void {
    this.tooltip = text
  }
  setContextMenu(menu: { template: any[] }): void {
    this.menu = menu
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  destroy(): void {
    this.destroyed = true
  }
}

export class FakeNotification extends EventEmitter {
  static supported = true
  static isSupported(): boolean {
    return FakeNotification.supported
  }
  shown = false
  constructor(readonly options: { title: string; body: string }) {
    super()
    fake.notifications.push(this)
  }
  show(): void {
    this.shown = true
  }
}

export class FakeIpcMain {
  readonly handlers = new Map<string, (...args: any[]) => unknown>()
  readonly listeners = new Map<string, Array<(...args: any[]) => void>>()
  handle(channel: string, fn: (...args: any[]) => unknown): void {
    this.handlers.set(channel, fn)
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  }
  on(channel: string, fn: (...args: any[]) => void): this {
    this.listeners.set(channel, [...(this.listeners.get(channel) ?? []), fn])
    return this
  }
  removeListener(channel: string, fn: (...args: any[]) => void): this {
    this.listeners.set(
      channel,
      (this.listeners.get(channel) ?? []).filter((l) => l !== fn),
    )
    return this
  }
}

export interface FakeState {
  app: FakeApp
  defaultSession: FakeSession
  windows: FakeBrowserWindow[]
  trays: FakeTray[]
  notifications: FakeNotification[]
  displays: Array<{ workArea: Bounds }>
  openedExternal: string[]
  applicationMenu: { template: any[] } | null
  ipcMain: FakeIpcMain
  iconEmpty: boolean
  /** dialog.showErrorBox calls, in order. */
  errorBoxes: Array<{ title: string; content: string }>
  /** dialog.showMessageBox calls, in order, each answered by `answerMessageBox` (default: the cancel button). */
  messageBoxes: Array<{ window: unknown; options: any }>
  answerMessageBox: (options: any) => number
  /** shell.openPath calls. */
  openedPaths: string[]
  /** protocol.registerSchemesAsPrivileged calls, with whether the app was ready at the time (Electron throws after). */
  privilegedSchemes: Array<{ schemes: Array<{ scheme: string; privileges?: Record<string, boolean> }>; afterReady: boolean }>
  /** protocol.handle handlers, by scheme. */
  protocolHandlers: Map<string, (request: Request) => Response | Promise<Response>>
}

function freshState(): FakeState {
  return {
    app: new FakeApp(),
    defaultSession: new FakeSession(),
    windows: [],
    trays: [],
    notifications: [],
    displays: [{ workArea: { x: 0, y: 0, width: 1920, height: 1040 } }],
    openedExternal: [],
    applicationMenu: null,
    ipcMain: new FakeIpcMain(),
    iconEmpty: false,
    errorBoxes: [],
    messageBoxes: [],
    answerMessageBox: (options) => options.cancelId ?? 0,
    openedPaths: [],
    privilegedSchemes: [],
    protocolHandlers: new Map(),
  }
}

export const fake: FakeState = freshState()

/** A clean slate for the next test (same object, so the mocked module keeps pointing at it). */
export function resetFake(): void {
  fake.app.removeAllListeners()
  Object.assign(fake, freshState())
  FakeNotification.supported = true
}

const fakeImage = () => ({
  isEmpty: () => fake.iconEmpty,
  resize: () => fakeImage(),
})

/** What vi.mock('electron') returns. Getters, because resetFake() replaces the parts. */
export const electronModule = {
  get app() {
    return fake.app
  },
  get ipcMain() {
    return fake.ipcMain
  },
  BrowserWindow: FakeBrowserWindow,
  Tray: FakeTray,
  Notification: FakeNotification,
  Menu: {
    buildFromTemplate: (template: any[]) => ({ template }),
    setApplicationMenu: (menu: { template: any[] } | null) => {
      fake.applicationMenu = menu
    },
  },
  screen: {
    getAllDisplays: () => fake.displays,
  },
  shell: {
    openExternal: (url: string) => {
      fake.openedExternal.push(url)
      return Promise.resolve()
    },
    openPath: (path: string) => {
      fake.openedPaths.push(path)
      return Promise.resolve('')
    },
  },
  nativeImage: {
    createFromPath: () => fakeImage(),
  },
  dialog: {
    showErrorBox: (title: string, content: string) => {
      fake.errorBoxes.push({ title, content })
    },
    // As Electron: the window is optional and comes first.
    showMessageBox: (a: any, b?: any) => {
      const [window, options] = b === undefined ? [null, a] : [a, b]
      fake.messageBoxes.push({ window, options })
      return Promise.resolve({ response: fake.answerMessageBox(options), checkboxChecked: false })
    },
  },
  get session() {
    return { defaultSession: fake.defaultSession }
  },
  protocol: {
    registerSchemesAsPrivileged: (schemes: Array<{ scheme: string; privileges?: Record<string, boolean> }>) => {
      fake.privilegedSchemes.push({ schemes, afterReady: fake.app.ready })
    },
    handle: (scheme: string, handler: (request: Request) => Response | Promise<Response>) => {
      // As Electron: one handler per scheme, and only once the app is ready.
      if (!fake.app.ready) throw new Error('protocol.handle before the app is ready')
      if (fake.protocolHandlers.has(scheme)) throw new Error(`scheme ${scheme} is already handled`)
      fake.protocolHandlers.set(scheme, handler)
    },
    unhandle: (scheme: string) => {
      fake.protocolHandlers.delete(scheme)
    },
  },
}
