/**
 * A fixed-capacity FIFO: push is O(1), the oldest item falls out when full. Every history the
 * monitor keeps (completed requests, janitor log, errors) is one of these, so memory is bounded
 * however long the service runs.
 */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[]
  private start = 0
  private count = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`)
    this.items = new Array(capacity)
  }

  get size(): number {
    return this.count
  }

  push(item: T): void {
    const end = (this.start + this.count) % this.capacity
    this.items[end] = item
    if (this.count < this.capacity) this.count++
    else this.start = (this.start + 1) % this.capacity
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = new Array(this.count)
    for (let i = 0; i < this.count; i++) out[i] = this.items[(this.start + i) % this.capacity] as T
    return out
  }

  /** Newest first, at most `limit`. */
  latest(limit = this.count): T[] {
    const n = Math.min(limit, this.count)
    const out: T[] = new Array(n)
    for (let i = 0; i < n; i++) out[i] = this.items[(this.start + this.count - 1 - i) % this.capacity] as T
    return out
  }

  clear(): void {
    this.items.fill(undefined)
    this.start = 0
    this.count = 0
  }
}
