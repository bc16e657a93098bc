/**
 * The benchmarks `npm run bench` runs, by name, and its command line. No bench is loaded here:
 * each one is imported only when it is asked for, and starts nothing until its `run` is called.
 */

/** What every bench's `run` gets from the command line. */
export interface BenchRun {
  /** Write the figures into the docs (`--write`); without it a bench prints and changes no file. */
  write: boolean
  /** The arguments after the bench's name, `--write` taken out (only `dashboard` takes any). */
  args: string[]
}

export interface Bench {
  run(opts: BenchRun): Promise<void>
}

interface BenchEntry {
  what: string
  time: string
  /** What `--write` rewrites. */
  writes: string
  /** Options and environment variables, as help text. */
  knobs: string
  /** Only a bench that reads options of its own may be given any. */
  takesArgs: boolean
  load(): Promise<Bench>
}

export const BENCHES = {
  suite: {
    what:
      "the throughput suite (crawldeck's POST /crawl against a bare playwright-core loop, a browser per request and Crawlee's " +
      "PlaywrightCrawler, three pages at c=1/4/8, with a chart), then POST /html against the bare loop and the monitor's cost (issues 2 and 3)",
    time: 'about 10 minutes alone on 2 cores, up to 20 on a slow machine',
    writes: 'docs/benchmarks.md (bench-suite and bench sections) and docs/bench/throughput.svg',
    knobs: 'BENCH_SUITE=0 skips the suite, BENCH_SUITE_ONLY=1 runs only it; BENCH_SUITE_* and BENCH_* size it (docs/benchmarks.md, "How to reproduce")',
    takesArgs: false,
    load: async () => ({ run: (await import('./run.js')).runSuiteBench }),
  },
  soak: {
    what: 'thousands of crawls at concurrency 8 across four browser configs against a separate `serve` process: failures, latency, RSS, and the pool back at baseline afterwards',
    time: 'about 20 minutes',
    writes: 'docs/reliability.md (soak section)',
    knobs: 'SOAK_CRAWLS (5000), SOAK_CONCURRENCY (8), SOAK_IDLE_TTL (10 s), SOAK_PAGE_TIMEOUT (120000 ms)',
    takesArgs: false,
    load: async () => ({ run: (await import('./soak.js')).runSoakBench }),
  },
  growth: {
    what: '100,000 requests to a separate `serve` process: its memory along the way, GET /monitor/* latency with empty and full buffers, and the CPU 20 SSE clients cost',
    time: 'about 15 minutes',
    writes: 'docs/benchmarks.md (growth-bench section)',
    knobs:
      'GROWTH_REQUESTS, GROWTH_MARK, GROWTH_CONCURRENCY, GROWTH_CRAWLERS, GROWTH_SAMPLES, GROWTH_CLIENTS, GROWTH_WINDOWS, GROWTH_WINDOW_S, GROWTH_CRAWL_RATE, GROWTH_MIX_RATE (bench/growth.ts)',
    takesArgs: false,
    load: async () => ({ run: (await import('./growth.js')).runGrowthBench }),
  },
  dashboard: {
    what: "the control center's work per live update in Chromium (100 completed requests, 50 browsers, 1 Hz), then SSE → DOM latency against the real service; needs `npm run build:web` first",
    time: 'about 5 minutes',
    writes: 'docs/benchmarks.md (the table of the dashboard-bench section)',
    knobs:
      '--updates N (100 per tab), --snapshots N (10), --requests N (60 crawls; 0 or --no-latency skips the real-service part), --concurrency N (2), --verbose; CRAWLDECK_RENDERER_DIR=dir measures another build',
    takesArgs: true,
    load: async () => ({ run: (await import('./dashboard.js')).runDashboardBench }),
  },
  'c4a-form': {
    what: "the same POST /crawl sent in crawldeck's plain config form and in Crawl4AI's typed form ({type, params}), alternating rounds: throughput, p50 and the schema's own cost of each",
    time: 'about 1 minute',
    writes: 'nothing (prints only)',
    knobs: 'C4A_FORM_ROUNDS (6), C4A_FORM_PAGES (80), C4A_FORM_CONCURRENCY (4), C4A_FORM_PATH ("/"), C4A_FORM_PARSES (20000) (bench/c4a-form.ts)',
    takesArgs: false,
    load: async () => ({ run: (await import('./c4a-form.js')).runC4aFormBench }),
  },
  cache: {
    what: 'the result cache: a POST /crawl answered from it (client-timed p50, and no fixture request or page served for the hits), then LMDB lookups at 1,000 vs 100,000 entries',
    time: 'about 2 minutes',
    writes: 'nothing (prints only)',
    knobs:
      'CACHE_BENCH_HITS (500), CACHE_BENCH_PATHS ("/about,/article"), CACHE_BENCH_SMALL (1000), CACHE_BENCH_LARGE (100000), CACHE_BENCH_LOOKUPS (20000) (bench/cache.ts)',
    takesArgs: false,
    load: async () => ({ run: (await import('./cache.js')).runCacheBench }),
  },
  extraction: {
    what: 'POST /crawl of a 100 KB product list with a JsonCss extraction_strategy and without, interleaved: the time the extraction adds per page (target ≤ 10 %)',
    time: 'about 2 minutes',
    writes: 'nothing (prints only)',
    knobs: 'EXTRACTION_ROUNDS (6), EXTRACTION_PAGES (60), EXTRACTION_CONCURRENCY (1), EXTRACTION_ITEMS (250) (bench/extraction.ts)',
    takesArgs: false,
    load: async () => ({ run: (await import('./extraction.js')).runExtractionBench }),
  },
  admission: {
    what: 'goodput under overload: heavy pages at 4x max_pages clients, fixed --max-pages swept against the adaptive limit, then light pages adaptive against fixed (ratios)',
    time: 'about 10 minutes (7 runs of ADMISSION_SECONDS)',
    writes: 'nothing (prints only)',
    knobs:
      'ADMISSION_SECONDS (60), ADMISSION_MAX_PAGES (8), ADMISSION_CLIENTS (4x max pages), ADMISSION_PAGE_TIMEOUT (60000), ADMISSION_SWEEP (1,2,3,4,8) (bench/admission.ts)',
    takesArgs: false,
    load: async () => ({ run: (await import('./admission.js')).runAdmissionBench }),
  },
  jobs: {
    what:
      'async jobs on one instance: the same N crawls through POST /crawl (c clients) and as N jobs at once, interleaved, pages/s and ratio (target ≥ 0.95×); ' +
      'how soon a queued job starts after a page slot frees (target p95 ≤ 50 ms); embedded queue, then BullMQ',
    time: 'about 3 minutes',
    writes: 'nothing (prints only)',
    knobs:
      'JOBS_BENCH_N (200), JOBS_BENCH_C (4), JOBS_BENCH_ROUNDS (3), JOBS_BENCH_PATH ("/about"), JOBS_BENCH_BACKEND (both|embedded|bullmq), JOBS_BENCH_REDIS_URL (bench/jobs.ts)',
    takesArgs: false,
    load: async () => ({ run: (await import('./jobs.js')).runJobsBench }),
  },
  history: {
    what:
      "the monitor's long history: POST /crawl with the rollups on and off, interleaved (target ≤ 1 % throughput), a 30-day GET /monitor/timeline " +
      'with 90 days held (target p99 ≤ 20 ms), and the 30-day chart draw in Chromium (target ≤ 100 ms); needs `npm run build:web` first',
    time: 'about 3 minutes',
    writes: 'nothing (prints only)',
    knobs:
      'HISTORY_BENCH_ROUNDS (3), HISTORY_BENCH_ROUND_SECONDS (20), HISTORY_BENCH_CONCURRENCY (4), HISTORY_BENCH_ANSWERS (500), HISTORY_BENCH_DRAWS (10) (bench/history.ts)',
    takesArgs: false,
    load: async () => ({ run: (await import('./history.js')).runHistoryBench }),
  },
} satisfies Record<string, BenchEntry>

export type BenchName = keyof typeof BENCHES
export const DEFAULT_BENCH: BenchName = 'suite'

export type BenchCommand = { kind: 'help' } | { kind: 'run'; name: BenchName; write: boolean; args: string[] }

/** Thrown for a command line that names no bench or passes what it does not take. */
export class BenchUsageError extends Error {}

const isBench = (name: string): name is BenchName => Object.hasOwn(BENCHES, name)

/** `[name] [--write] [options]`, in any order; `--help` anywhere asks for the list. */
export function parseBenchArgs(argv: readonly string[]): BenchCommand {
  if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help' }
  const rest = argv.filter((a) => a !== '--write')
  const write = rest.length !== argv.length
  let name: BenchName = DEFAULT_BENCH
  const first = rest[0]
  if (first !== undefined && !first.startsWith('-')) {
    if (!isBench(first)) throw new BenchUsageError(`unknown bench "${first}": one of ${Object.keys(BENCHES).join(', ')} (npm run bench -- --help)`)
    name = first
    rest.shift()
  }
  if (rest.length > 0 && !BENCHES[name].takesArgs) {
    throw new BenchUsageError(`the ${name} bench takes no options (got ${rest.join(' ')}); its knobs are environment variables (npm run bench -- --help)`)
  }
  return { kind: 'run', name, write, args: rest }
}

export function benchHelp(): string {
  const lines = [
    'Usage: npm run bench -- [name] [--write] [options]',
    '',
    `Runs one benchmark (${DEFAULT_BENCH} when no name is given) and prints its figures as markdown.`,
    'Without --write it changes no file; with --write it also puts them into the docs.',
    'Run one at a time, alone on the machine: the figures are only as good as the quiet around them.',
    '',
  ]
  for (const [name, b] of Object.entries(BENCHES) as Array<[BenchName, BenchEntry]>) {
    lines.push(`  ${name}${name === DEFAULT_BENCH ? ' (default)' : ''}`)
    lines.push(`    ${b.what[0]!.toUpperCase()}${b.what.slice(1)}.`)
    lines.push(`    Takes ${b.time}. --write updates ${b.writes}.`)
    lines.push(`    ${b.takesArgs ? 'Options' : 'Knobs'}: ${b.knobs}.`)
    lines.push('')
  }
  lines.push('Example: BENCH_SUITE_ONLY=1 npm run bench -- suite --write')
  return lines.join('\n')
}

/** The bench a command names, loaded (importing it starts nothing). */
export async function loadBench(name: BenchName): Promise<Bench> {
  return BENCHES[name].load()
}
