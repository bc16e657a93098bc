import { NodeHtmlMarkdown } from 'node-html-markdown'

/**
 * One converter for the whole process: building the translator tables is the expensive part,
 * translating with a reused instance is cheap.
 */
const converter = new NodeHtmlMarkdown({
  bulletMarker: '-',
  codeBlockStyle: 'fenced',
  codeFence: '```',
  // Keep every link target inline ([text](url)) rather than collecting them at the bottom.
  useLinkReferenceDefinitions: false,
  useInlineLinks: true,
  maxConsecutiveNewlines: 2,
  // cleaned_html has these removed already; this is for callers passing raw html.
  ignore: ['NOSCRIPT', 'TEMPLATE', 'IFRAME', 'OBJECT', 'SVG', 'CANVAS'],
})

/** Converts (cleaned) html to markdown: headings, links with targets, '-' bullets, fenced code. */
export function htmlToMarkdown(html: string): string {
  if (!html) return ''
  return converter.translate(html).trim()
}
