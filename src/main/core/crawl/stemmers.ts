import { createRequire } from 'node:module'
import { isStemmerLanguage, type StemmerLanguage } from '../../../shared/markdown-generator.js'

/*
 * BM25ContentFilter's stemmers: Snowball's, for the languages Crawl4AI's snowballstemmer offers,
 * from @orama/stemmers (generated from the Snowball sources, one small module per language). A
 * language's module is loaded the first time a filter asks for it, synchronously (the filter runs
 * in one pass on the Markdown worker), and kept.
 */

const load = createRequire(import.meta.url)
const loaded = new Map<StemmerLanguage, (word: string) => string>()

/** Snowball "porter" is its English stemmer; the package names its modules in English. */
const MODULE: Partial<Record<StemmerLanguage, string>> = { porter: 'english' }

/** The stemmer of `language` (case-insensitive), or null when there is none: words are then matched whole. */
export function stemmerFor(language: string): ((word: string) => string) | null {
  const name = language.toLowerCase()
  if (!isStemmerLanguage(name)) return null
  let stem = loaded.get(name)
  if (!stem) {
    const mod = load(`@orama/stemmers/${MODULE[name] ?? name}`) as { stemmer: (word: string) => string }
    stem = mod.stemmer
    loaded.set(name, stem)
  }
  return stem
}
