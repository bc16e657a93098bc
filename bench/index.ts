/**
 * `npm run bench -- [suite|soak|growth|dashboard] [--write] [options]`: the one entry to the
 * benchmarks (bench/benches.ts lists them; `npm run bench -- --help` prints the list).
 */
import { benchHelp, BenchUsageError, loadBench, parseBenchArgs } from './benches.js'

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`)

// Before --write, the docs were rewritten unless one of these said 0; they no longer do anything.
for (const gone of ['BENCH_WRITE', 'GROWTH_WRITE', 'SOAK_WRITE']) {
  if (process.env[gone] !== undefined) say(`${gone} is no longer read: the docs are written only with --write`)
}

let command: ReturnType<typeof parseBenchArgs>
try {
  command = parseBenchArgs(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof BenchUsageError)) throw err
  say(err.message)
  process.exit(2)
}

if (command.kind === 'help') {
  process.stdout.write(`${benchHelp()}\n`)
} else {
  const { name, write, args } = command
  say(`${name}${write ? ' (--write: the docs will be updated)' : ' (prints only; --write updates the docs)'}`)
  try {
    const bench = await loadBench(name)
    await bench.run({ write, args })
  } catch (err) {
    // Each bench closes what it started before its run rejects; exit even if a handle lingers.
    say(`${name} broke: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    process.exit(1)
  }
}
