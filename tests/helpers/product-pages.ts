/*
 * Product-list pages for the extraction strategies (tests/extraction.test.ts, bench/extraction.ts):
 * a small one whose records the tests know by heart, one of contact text for the regex patterns,
 * and a generated one of about 100 KB.
 */

/** /products: three items, every field type's case among them; each of the first two followed by its rating row. */
export function productListPage(): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Shop</title></head>
<body>
<h1>Products</h1>
<ul id="list">
  <li class="product" data-id="p12" data-sku="SKU-12">
    <h3>  Desk <b>lamp</b> </h3>
    <a class="link" href="/p/12">View</a>
    <span class="price">Price: $24.50</span>
    <span class="badge"><em>New</em></span>
    <div class="brand"><span class="name">Lumo</span> <span class="country">DK</span></div>
    <ul class="tags"><li>Light</li><li>Office</li></ul>
    <ol><li class="variant"><span class="color">Black</span><span class="stock">3</span></li><li class="variant"><span class="color">White</span></li></ol>
  </li>
  <li class="meta"><span class="rating">4.5</span></li>
  <li class="product" data-id="p13" data-sku="SKU-13">
    <h3>Chair<script>var hidden = 1</script></h3>
    <a class="link" href="/p/13">View</a>
    <span class="price">Price: $89.00</span>
  </li>
  <li class="meta"><span class="rating">3.9</span></li>
  <li class="product" data-id="p14">
    <h3>Stool</h3>
    <a class="link" href="/p/14">View</a>
    <span class="price">Ask us</span>
  </li>
</ul>
</body>
</html>`
}

/** The text of /products/contact, its body's only paragraph: innerText gives it back as it is. */
export const CONTACT_TEXT =
  '😀 Write to sales@shop.test or visit https://shop.test/help. Order 123e4567-e89b-12d3-a456-426614174000 placed 2024-05-01 at 14:30, save 15% with #deals from @shopbot.'

export function contactPage(): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Contact</title></head>
<body><p>${CONTACT_TEXT}</p></body></html>`
}

/** /products/big: `count` items in the /products shape, about 400 bytes each (250 items: about 100 KB). */
export function bigProductListPage(count: number): string {
  const items: string[] = []
  for (let i = 0; i < count; i++) {
    items.push(`  <li class="product" data-id="p${i}" data-sku="SKU-${i}">
    <h3>Product number ${i} <b>deluxe</b></h3>
    <a class="link" href="/p/${i}">View product ${i}</a>
    <span class="price">Price: $${(i % 97) + 1}.99</span>
    <div class="brand"><span class="name">Brand ${i % 13}</span> <span class="country">DK</span></div>
    <ul class="tags"><li>tag-${i % 7}</li><li>tag-${i % 11}</li></ul>
    <p class="blurb">A sturdy, well made thing for every day, shipped within ${i % 5} days.</p>
  </li>`)
  }
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Big shop</title></head>
<body><h1>Products</h1><ul id="list">
${items.join('\n')}
</ul></body></html>`
}

/** A CSS schema over the /products shape that reads every simple and nested field type. */
export const PRODUCT_SCHEMA = {
  name: 'Products',
  baseSelector: 'li.product',
  baseFields: [{ name: 'id', type: 'attribute', attribute: 'data-id' }],
  fields: [
    { name: 'title', selector: 'h3', type: 'text' },
    { name: 'link', selector: 'a.link', type: 'attribute', attribute: 'href' },
    { name: 'price', selector: '.price', type: 'regex', pattern: '\\$(\\d+\\.\\d+)' },
    { name: 'brand', selector: '.brand', type: 'nested', fields: [{ name: 'name', selector: '.name', type: 'text' }] },
    { name: 'tags', selector: 'ul.tags li', type: 'list', fields: [{ name: 'tag', type: 'text' }] },
  ],
}

/** /products/hostile: /products after a script that booby-traps what an extraction would use. */
export function hostileProductListPage(): string {
  const trap = `<script>
Object.defineProperty(Object.prototype, 'title', { set() { throw new Error('trapped setter') }, configurable: true });
JSON.stringify = () => '"hacked"';
Array.prototype.push = function () { throw new Error('trapped push') };
document.querySelectorAll = () => { throw new Error('trapped document.querySelectorAll') };
</script>`
  return productListPage().replace('</body>', `${trap}</body>`)
}
