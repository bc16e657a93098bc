import { onScopeDispose, ref } from 'vue'

/*
 * The dashboard's routing between its three views, read from the URL's hash (no router library).
 */

export type RouteName = 'monitor' | 'playground' | 'settings'

export function parseHash(hash: string): RouteName {
  const head = hash.replace(/^#\/?/, '').split(/[/?]/)[0]
  return head === 'playground' || head === 'settings' ? head : 'monitor'
}

/** Hash routing: #/monitor, #/playground and #/settings, deep-linkable, back/forward aware. */
export function useHashRoute() {
  const route = ref<RouteName>(parseHash(window.location.hash))
  const onChange = () => {
    route.value = parseHash(window.location.hash)
  }
  window.addEventListener('hashchange', onChange)
  onScopeDispose(() => window.removeEventListener('hashchange', onChange))
  return route
}
