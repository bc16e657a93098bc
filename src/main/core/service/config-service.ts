import type { ServiceImpl } from '../../../shared/contract.js'
import { configSchema } from '../../../shared/crawl4ai/dump.js'

/*
 * GET /schema and POST /config/dump: crawldeck's configs in Crawl4AI's dump form. The request
 * schema (ConfigDumpRequestSchema) already decoded, checked and dumped the config, exactly as
 * /crawl checks one, so both doors answer the same; nothing here touches a browser.
 */
export function createConfigService(): Pick<ServiceImpl, 'configSchema' | 'configDump'> {
  return {
    configSchema: async () => configSchema(),
    configDump: async (dumped) => dumped,
  }
}
