/// <reference types="electron-vite/node" />
/**
 * Electron entry: paths and one call. Everything the main process does lives in
 * src/main/desktop (assembled by startDesktop) where it is tested with electron mocked.
 */
import { join } from 'node:path'
import { app } from 'electron'
import { createDesktopLogger } from './desktop/desktop-logger'
import { startDesktop } from './desktop/desktop-app'
// `?asset`: electron-vite copies the icon into out/ (the only directory packaged) and gives its path.
import trayIcon from '../../resources/icons/32x32.png?asset'

// stderr and a rotating file in the platform's log folder (menu: Open Log Folder).
const { logger, logFile } = createDesktopLogger(app, process.env.CRAWLDECK_LOG_LEVEL ?? 'info')

startDesktop({
  logger,
  logFile,
  preload: join(__dirname, '../preload/index.cjs'),
  rendererDir: join(__dirname, '../renderer'),
  // The dev server only for an unpackaged run: a packaged app never loads anything over the network.
  devRendererUrl: app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL,
  trayIcon,
}).catch(() => {
  // Already logged and shut down by startDesktop; this only keeps the rejection handled.
})
