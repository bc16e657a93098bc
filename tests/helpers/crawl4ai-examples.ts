/*
 * The request bodies of ../shared/reference/crawl4ai-api.md §2.3, verbatim but for the URLs, for
 * the schema tests and the HTTP tests alike: one copy of Crawl4AI's examples.
 */

/** The plain form: kwargs objects, an enum in typed form. */
export function plainFormExample(urls: string[]) {
  return {
    urls,
    browser_config: { headless: true, viewport_width: 1280, text_mode: true },
    crawler_config: {
      cache_mode: { type: 'CacheMode', params: 'bypass' },
      word_count_threshold: 10,
      excluded_tags: ['nav', 'footer'],
      page_timeout: 30000,
    },
  }
}

/** The typed form, with a markdown generator, a content filter and a dict-wrapped option. */
export function typedFormExample(urls: string[]) {
  return {
    urls,
    crawler_config: {
      type: 'CrawlerRunConfig',
      params: {
        cache_mode: { type: 'CacheMode', params: 'enabled' },
        markdown_generator: {
          type: 'DefaultMarkdownGenerator',
          params: {
            content_source: 'cleaned_html',
            content_filter: { type: 'BM25ContentFilter', params: { user_query: 'pricing plans', bm25_threshold: 1.2 } },
            options: { type: 'dict', value: { ignore_links: true } },
          },
        },
      },
    },
  }
}

/** The extraction strategy, its schema wrapped as a dict and its fields plain data with a "type". */
export const EXTRACTION_STRATEGY_EXAMPLE = {
  type: 'JsonCssExtractionStrategy',
  params: {
    schema: {
      type: 'dict',
      value: {
        name: 'Products',
        baseSelector: 'li.product',
        fields: [
          { name: 'title', selector: 'h3', type: 'text' },
          { name: 'link', selector: 'a', type: 'attribute', attribute: 'href' },
        ],
      },
    },
  },
}

export function extractionExample(urls: string[]) {
  return { urls, crawler_config: { type: 'CrawlerRunConfig', params: { extraction_strategy: EXTRACTION_STRATEGY_EXAMPLE } } }
}
