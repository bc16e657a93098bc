import { ref } from 'vue'

/*
 * The confirmation step before a destructive action (kill or restart a browser, the control panel's
 * actions): the state a ConfirmDialog shows, and the action it runs once confirmed.
 */

export interface PendingConfirm {
  title: string
  message: string
  confirmLabel: string
  danger: boolean
  run: () => unknown
}

/** State for one ConfirmDialog: ask() opens it, confirm() runs the action, cancel() drops it. */
export function useConfirm() {
  const pending = ref<PendingConfirm | null>(null)
  function ask(title: string, message: string, run: () => unknown, opts: { confirmLabel?: string; danger?: boolean } = {}) {
    pending.value = { title, message, run, confirmLabel: opts.confirmLabel ?? 'confirm', danger: opts.danger ?? false }
  }
  function confirm() {
    const p = pending.value
    pending.value = null
    if (p) void p.run()
  }
  function cancel() {
    pending.value = null
  }
  return { pending, ask, confirm, cancel }
}
