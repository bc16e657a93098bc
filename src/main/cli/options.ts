/*
 * The headless service's command-line options, as the rest of the code imports them: the option
 * table (option-table.ts), its parser (parse-options.ts) and its help text (help.ts).
 */
export { CONFIG_FILE_OPTION, defaultLabel, OPTIONS, type OptionSpec } from './option-table.js'
export { OPTIONS_TABLE_END, OPTIONS_TABLE_START, helpText, optionsMarkdownTable } from './help.js'
export { OptionsError, parseOptions, type ParsedOptions } from './parse-options.js'
