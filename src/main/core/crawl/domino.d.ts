/** turndown's own HTML parser (a DOM without scripting), used directly by the content filters. */
declare module '@mixmark-io/domino' {
  export function createDocument(html?: string, force?: boolean): Document
}
