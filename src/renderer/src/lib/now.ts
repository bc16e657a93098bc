import { onScopeDispose, ref, type Ref } from 'vue'

/** A `Date.now()` that ticks once a second while a component uses it. */
export function useNow(intervalMs = 1000): Ref<number> {
  const now = ref(Date.now())
  const timer = setInterval(() => {
    now.value = Date.now()
  }, intervalMs)
  onScopeDispose(() => clearInterval(timer))
  return now
}
