/**
 * The IPC door of crawldeck, for the Electron entry (src/main/index.ts):
 *
 *   const door = registerIpcDoor({
 *     ipcMain,                          // electron's ipcMain
 *     service: runtime.service,         // the same ServiceImpl the Koa door calls
 *     live: runtime.live,               // the LiveFeed (SSE reads it too)
 *     isAllowedSender: allowedSenderFor({
 *       appOrigin: 'app://crawldeck',                                                // built: the app:// protocol
 *       rendererUrl: app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL, // dev server only
 *     }),
 *     appInfo: () => ({ version, http_url, platform: process.platform }),
 *     logger,
 *     maxInputBytes: runtime.config.body_limit_bytes,   // optional; HTTP's body limit
 *   })
 *   ...
 *   door.dispose()                      // before runtime.close() on quit
 *
 * The window's preload (src/preload/index.ts) exposes the matching bridge; app commands are
 * pushed by the window code with webContents.send(IPC_CHANNELS.appCommand, command).
 */
export { registerIpcDoor, ipcRoutes, type IpcDoor } from './door.js'
export { allowedSenderFor, type AllowedRenderer } from './sender.js'
export { LIVE_IN_FLIGHT } from './live-window.js'
export type { IpcDoorDeps, IpcEventLike, IpcMainLike, LiveSource, WebContentsLike } from './types.js'
