/**
 * Runs jobs one per animation frame, after the task that queued them: an expensive redraw caused
 * by an update (the timeline's canvas) does not add to that update's own task, and several never
 * add up in a single frame. A job queued again under the same
 * key before it ran replaces the older one: the queue holds at most one job per key, however
 * many updates arrive while frames are not running (a hidden tab), and only the newest data is drawn.
 */
const pending = new Map<unknown, () => void>()
let scheduled = false

const nextFrame: (cb: () => void) => unknown = typeof requestAnimationFrame === 'function' ? (cb) => requestAnimationFrame(cb) : (cb) => setTimeout(cb, 16)

function runOne(): void {
  scheduled = false
  const first = pending.entries().next()
  if (first.done) return
  const [key, job] = first.value
  pending.delete(key)
  try {
    job()
  } finally {
    if (pending.size > 0) schedule()
  }
}

function schedule(): void {
  if (scheduled) return
  scheduled = true
  nextFrame(runOne)
}

export function inNextFrame(key: unknown, job: () => void): void {
  pending.set(key, job)
  schedule()
}

export function cancelFrameJob(key: unknown): void {
  pending.delete(key)
}

/** Jobs waiting for a frame (bounded by the number of keys). */
export function pendingFrameJobs(): number {
  return pending.size
}
