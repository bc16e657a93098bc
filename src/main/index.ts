/**
 * Electron entry. Deliberately thin: everything it does is createRuntime + startHttpServer
 * (the same engine `npm run serve` runs) and one window. The typed IPC door, tray, settings
 * and the rest of the desktop shell arrive with the desktop issue; keep logic out of here so
 * it stays testable in plain Node.
 */
import { join } from 'node:path'
import { app, BrowserWindow } from 'electron'
import { createLogger } from './core/logger'
import { createRuntime, type Runtime } from './core/runtime'
import { startHttpServer, type HttpServer } from './http/server'

let runtime: Runtime | null = null
let http: HttpServer | null = null

async function boot(): Promise<void> {
  const logger = createLogger({ level: 'info' })
  runtime = await createRuntime({ data_dir: join(app.getPath('userData'), 'data') }, { logger })
  http = await startHttpServer(runtime, { host: runtime.config.host, port: runtime.config.port, logger })
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    backgroundColor: '#0b0f14',
    webPreferences: { preload: join(__dirname, '../preload/index.cjs'), contextIsolation: true, sandbox: true, nodeIntegration: false },
  })
  await win.loadFile(join(__dirname, '../renderer/index.html'))
}

app.whenReady().then(boot, (err) => {
  console.error(err)
  app.exit(1)
})

app.on('window-all-closed', () => app.quit())

let quitting = false
app.on('before-quit', (event) => {
  if (quitting) return
  quitting = true
  event.preventDefault()
  void (async () => {
    await http?.close()
    await runtime?.close()
    app.exit(0)
  })()
})
