import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Pages for DefaultMarkdownGenerator's options and BM25's languages, served on 127.0.0.1:
 *   /md/options  every construct an html2text option changes: links (external, #internal,
 *                mailto), images (one without alt), emphasis, a table, code, sup/sub, <q>,
 *                strikethrough, Markdown characters in text, a long paragraph, an <aside>,
 *                a repeated list item
 *   /md/german   a German page: sections about cats (Katzen) and about cars (Autos)
 */

const LONG = 'Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. '.repeat(6).trim()

export const OPTIONS_PAGE = `<!doctype html><html><head><title>Options page</title></head><body>
<main>
<h1>Options page</h1>
<p id="links">Read the <a href="https://example.test/guide">external guide</a>, <a href="#details">jump to details</a> or <a href="mailto:team@example.test">write to us</a>.</p>
<p id="images"><img src="/pic.png" alt="A picture"> <img src="/noalt.png"></p>
<p id="emphasis">This is <em>important</em> and <strong>very bold</strong> and <del>struck out</del>.</p>
<p id="chars">Stars 5 * 3 and under_scores_here and a <q>short quote</q>.</p>
<p id="science">Water is H<sub>2</sub>O and area is m<sup>2</sup>.</p>
<table><tr><th>Name</th><th>Price</th></tr><tr><td>Widget</td><td>10</td></tr></table>
<pre><code>const answer = 42</code></pre>
<p id="long">${LONG}</p>
<ul><li class="item">Repeated item</li><li class="item">Repeated item</li><li class="item">Other item</li></ul>
<h2 id="details">Details</h2>
<p>Closing words.</p>
</main>
<aside>Sidebar note outside the main content</aside>
</body></html>`

export const GERMAN_PAGE = `<!doctype html><html lang="de"><head><title>Haustiere und Verkehr</title></head><body>
<article>
<p>Katzen schlafen gerne in der Sonne und jagen Mäuse im Garten.</p>
<p>Viele Katzen mögen es, abends gefüttert zu werden, und warten dann an der Tür.</p>
<p>Autos brauchen regelmäßig Benzin und eine Inspektion in der Werkstatt.</p>
<p>Elektroautos werden an Ladesäulen geladen und fahren leise durch die Stadt.</p>
<p>Die Straßenbahn fährt alle zehn Minuten vom Bahnhof in die Innenstadt.</p>
<p>Fahrräder sind in der Stadt oft schneller als der Bus im Berufsverkehr.</p>
<p>Der Wetterbericht meldet für morgen Regen und kühle Temperaturen.</p>
<p>Im Herbst fallen die Blätter von den Bäumen im Park.</p>
</article>
</body></html>`

export interface PageServer {
  url(path: string): string
  close(): Promise<void>
}

export async function startMarkdownPages(): Promise<PageServer> {
  const pages: Record<string, string> = { '/md/options': OPTIONS_PAGE, '/md/german': GERMAN_PAGE }
  const server: Server = createServer((req, res) => {
    const page = pages[(req.url ?? '/').split('?')[0] as string]
    res.writeHead(page ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
    res.end(page ?? '<p>not found</p>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
