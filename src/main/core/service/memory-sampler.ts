/*
 * The server-side figures of a /crawl answer (Crawl4AI's envelope): how long it took and what
 * this process's resident memory did meanwhile.
 */

const MIB = 1024 * 1024

const round = (n: number) => Math.round(n * 1000) / 1000

/**
 * RSS read at the start, at each result and at the end of a crawl. process.memoryUsage.rss() is
 * one system call, cheap enough per result; the peak is the highest of those samples, not a true
 * peak (Crawl4AI's is only max(before, after)).
 */
export class MemorySampler {
  private readonly started = performance.now()
  private readonly before = process.memoryUsage.rss()
  private peak = this.before

  /** This process's RSS now, in MiB. */
  static rssMiB(): number {
    return round(process.memoryUsage.rss() / MIB)
  }

  sample(): number {
    const rss = process.memoryUsage.rss()
    if (rss > this.peak) this.peak = rss
    return rss
  }

  envelope(): { server_processing_time_s: number; server_memory_delta_mb: number; server_peak_memory_mb: number } {
    const after = this.sample()
    return {
      server_processing_time_s: round((performance.now() - this.started) / 1000),
      server_memory_delta_mb: round((after - this.before) / MIB),
      server_peak_memory_mb: round(this.peak / MIB),
    }
  }
}
