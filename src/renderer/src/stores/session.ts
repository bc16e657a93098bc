import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { AuthScope } from '../../../shared/api-types'
import { TransportError } from '../transport/types'
import { useTransport } from './transport'

/*
 * The dashboard's sign-in: whether the HTTP service asks for a token, the session's scope, and the
 * checks (can, deniedReason) the views use to hide or disable what that scope does not allow.
 */

const RANK: Record<AuthScope, number> = { read: 1, crawl: 2, admin: 3 }

/**
 * Who the dashboard is signed in as. Over HTTP the service may ask for a token (then the
 * dashboard shows its sign-in screen and trades the token for an HttpOnly session cookie); in the
 * desktop window, or on a local service with no token configured, everything is allowed. The UI
 * hides or disables what the scope does not allow — the server refuses it anyway (403).
 */
export const useSessionStore = defineStore('session', () => {
  const checked = ref(false)
  const authRequired = ref(false)
  const signedIn = ref(false)
  const scope = ref<AuthScope | null>(null)
  const error = ref<string | null>(null)
  const busy = ref(false)
  let offUnauthorized: (() => void) | null = null

  /** The dashboard may show its data (signed in, or no sign-in needed). */
  const ready = computed(() => checked.value && (!authRequired.value || signedIn.value))

  function can(needed: AuthScope): boolean {
    if (!authRequired.value) return true
    return scope.value !== null && RANK[scope.value] >= RANK[needed]
  }

  /** Why this session may not do something that needs `needed`, for tooltips and notes; null when it may. */
  function deniedReason(needed: AuthScope): string | null {
    return can(needed) ? null : `needs the ${needed} scope; this session has ${scope.value}`
  }

  async function init(): Promise<void> {
    const channel = useTransport().session
    if (!channel) {
      // The desktop window talks IPC: it is the app itself and is never asked for a token.
      checked.value = true
      return
    }
    offUnauthorized ??= channel.onUnauthorized(() => {
      if (!authRequired.value) authRequired.value = true
      signedIn.value = false
      scope.value = null
      error.value = 'your session ended: sign in again'
    })
    try {
      const s = await channel.status()
      authRequired.value = s.auth_required
      signedIn.value = s.signed_in
      scope.value = s.scope
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    } finally {
      checked.value = true
    }
  }

  async function signIn(token: string): Promise<boolean> {
    const channel = useTransport().session
    if (!channel) return true
    busy.value = true
    error.value = null
    try {
      const s = await channel.signIn(token.trim())
      signedIn.value = s.signed_in
      scope.value = s.scope
      return s.signed_in
    } catch (err) {
      error.value = err instanceof TransportError && err.status === 401 ? 'that token is not valid here' : err instanceof Error ? err.message : String(err)
      return false
    } finally {
      busy.value = false
    }
  }

  async function signOut(): Promise<void> {
    const channel = useTransport().session
    if (!channel) return
    await channel.signOut().catch(() => undefined)
    signedIn.value = false
    scope.value = null
  }

  return { checked, authRequired, signedIn, scope, error, busy, ready, can, deniedReason, init, signIn, signOut }
})
