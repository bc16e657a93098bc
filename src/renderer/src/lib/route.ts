import { onScopeDispose, ref } from 'vue'

export type RouteName = 'monitor' | 'playground'

export function parseHash(hash: string): RouteName {
  return hash.replace(/^#\/?/, '').split(/[/?]/)[0] === 'playground' ? 'playground' : 'monitor'
}

/** Hash routing: #/monitor and #/playground, deep-linkable, back/forward aware. */
export function useHashRoute() {
  const route = ref<RouteName>(parseHash(window.location.hash))
  const onChange = () => {
    route.value = parseHash(window.location.hash)
  }
  window.addEventListener('hashchange', onChange)
  onScopeDispose(() => window.removeEventListener('hashchange', onChange))
  return route
}
