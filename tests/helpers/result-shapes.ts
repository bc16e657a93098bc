import type { MediaItem, PageLink } from '../../src/shared/crawl-result.js'

/**
 * Results as a test expects them, written out here rather than built by the code under test:
 * a link in Crawl4AI's shape with the preview and score fields null (previews are not fetched).
 * `base_domain` is given by the test when it differs from the host without "www.".
 */
export function expectedLink(href: string, text: string, title = '', base_domain = new URL(href).hostname.replace(/^www\./, '')): PageLink {
  return {
    href,
    text,
    title,
    base_domain,
    head_data: null,
    head_extraction_status: null,
    head_extraction_error: null,
    intrinsic_score: null,
    contextual_score: null,
    total_score: null,
  }
}

/** An image as the extraction gives it (the score's rule is in extract-page.ts). */
export function expectedImage(src: string, alt: string, more: Partial<MediaItem> = {}): MediaItem {
  return { src, data: '', alt, desc: '', score: 0, type: 'image', group_id: 0, format: 'png', width: null, ...more }
}
