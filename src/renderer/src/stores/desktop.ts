import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AppCommand, AppInfo } from '../../../shared/ipc'
import { useMonitorStore } from './monitor'
import { useTransport } from './transport'

/**
 * The window's side of the desktop app: where the main process's HTTP server listens (shown in
 * the top bar, for remote access and scripts) and the commands its tray, menu and notifications
 * send (go to a view, pause or resume live updates). In a browser there is no desktop channel and
 * this store stays empty.
 */
export const useDesktopStore = defineStore('desktop', () => {
  const isDesktop = ref(false)
  const appInfo = ref<AppInfo | null>(null)
  const lastCommand = ref<AppCommand | null>(null)
  let off: (() => void) | null = null

  function apply(command: AppCommand): void {
    lastCommand.value = command
    const monitor = useMonitorStore()
    if (command.type === 'navigate') window.location.hash = `#/${command.view}`
    else if (command.type === 'set-live-paused') void monitor.setPaused(command.paused)
    else void monitor.setPaused(!monitor.paused)
  }

  async function connect(): Promise<void> {
    const channel = useTransport().desktop
    if (!channel || off) return
    isDesktop.value = true
    off = channel.onAppCommand(apply)
    try {
      appInfo.value = await channel.appInfo()
    } catch {
      appInfo.value = null
    }
  }

  function disconnect(): void {
    off?.()
    off = null
  }

  return { isDesktop, appInfo, lastCommand, connect, disconnect, apply }
})
