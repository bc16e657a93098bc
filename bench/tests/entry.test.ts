import { describe, expect, it } from 'vitest'
import { BENCHES, benchHelp, BenchUsageError, loadBench, parseBenchArgs, type BenchName } from '../benches.js'

// `npm run bench -- [name] [--write] [options]` (bench/index.ts): the command line, the help, and
// that every bench it names loads without starting anything.

describe('npm run bench: the command line', () => {
  it('runs the suite by default, and writes the docs only with --write', () => {
    expect(parseBenchArgs([])).toEqual({ kind: 'run', name: 'suite', write: false, args: [] })
    expect(parseBenchArgs(['--write'])).toEqual({ kind: 'run', name: 'suite', write: true, args: [] })
    expect(parseBenchArgs(['growth'])).toEqual({ kind: 'run', name: 'growth', write: false, args: [] })
    expect(parseBenchArgs(['soak', '--write'])).toEqual({ kind: 'run', name: 'soak', write: true, args: [] })
  })

  it('hands the dashboard bench its own options, --write taken out wherever it stands', () => {
    expect(parseBenchArgs(['dashboard', '--updates', '20', '--write', '--no-latency'])).toEqual({
      kind: 'run',
      name: 'dashboard',
      write: true,
      args: ['--updates', '20', '--no-latency'],
    })
  })

  it('refuses an unknown bench, and options a bench does not take', () => {
    expect(() => parseBenchArgs(['trees-ab'])).toThrow(BenchUsageError)
    expect(() => parseBenchArgs(['trees-ab'])).toThrow(/one of suite, soak, growth, dashboard/)
    expect(() => parseBenchArgs(['soak', '--crawls', '10'])).toThrow(/takes no options/)
    expect(() => parseBenchArgs(['--rounds', '3'])).toThrow(/suite bench takes no options/)
  })

  it('--help lists every bench with what --write updates', () => {
    expect(parseBenchArgs(['growth', '--help'])).toEqual({ kind: 'help' })
    expect(parseBenchArgs(['-h'])).toEqual({ kind: 'help' })
    const help = benchHelp()
    for (const [name, b] of Object.entries(BENCHES)) {
      expect(help).toContain(`  ${name}`)
      expect(help).toContain(`--write updates ${b.writes}.`)
    }
  })
})

describe('npm run bench: the benches', () => {
  it('each one loads without starting anything and has a run function', async () => {
    for (const name of Object.keys(BENCHES) as BenchName[]) {
      const bench = await loadBench(name)
      expect(typeof bench.run, name).toBe('function')
    }
  }, 30_000)
})
