import type { App } from 'electron'

/**
 * electron-builder.yml's appId. On Windows a notification is attributed to (and only shown for)
 * the AppUserModelId the process declares, which must be the one the installer's shortcut
 * carries: electron-builder gives the shortcut this appId.
 */
export const APP_USER_MODEL_ID = 'dev.crawldeck.app'

/** Declares the Windows identity; call before the first notification. Nothing elsewhere. */
export function applyAppIdentity(app: Pick<App, 'setAppUserModelId'>, platform: NodeJS.Platform): void {
  if (platform === 'win32') app.setAppUserModelId(APP_USER_MODEL_ID)
}
