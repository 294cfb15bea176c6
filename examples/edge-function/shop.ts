/**
 * The edge function's nodes: a tiny shop API inside one Happen system. `catalog` holds the prices;
 * `pricing` answers `quote.create` — its payload checked by a valibot schema before the handler runs —
 * by asking `catalog` for the prices (a send inside the handler, so causally linked) and totalling.
 */
import * as v from 'valibot';
import { createHappen, defineEvent, HappenError, type Happen } from '../../src/index.ts';

/** A catalog entry. */
export interface Product {
  sku: string;
  name: string;
  /** Price in cents. */
  price: number;
}

/** The catalog the example starts with. */
export const PRODUCTS: Product[] = [
  { sku: 'MUG-1', name: 'Happen mug', price: 1_200 },
  { sku: 'TEE-M', name: 'Happen T-shirt (M)', price: 2_500 },
  { sku: 'STK-5', name: 'Sticker pack', price: 400 },
];

/** Coupons: percent off. */
const COUPONS: Record<string, number> = { EDGE10: 10 };

/** A quote request: 1–20 lines of a SKU and a quantity, and an optional coupon. */
export const QuoteRequest = defineEvent(
  'quote.create',
  v.object({
    items: v.pipe(
      v.array(v.object({ sku: v.pipe(v.string(), v.regex(/^[A-Z0-9-]{2,20}$/, 'a SKU is 2-20 of A-Z, 0-9 and -')), qty: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)) })),
      v.minLength(1, 'a quote needs at least one item'),
      v.maxLength(20),
    ),
    coupon: v.optional(v.pipe(v.string(), v.maxLength(20))),
  }),
);

/** What `pricing` answers. */
export interface Quote {
  lines: Array<{ sku: string; name: string; qty: number; price: number; amount: number }>;
  subtotal: number;
  discount: number;
  total: number;
  currency: 'EUR';
}

/** Creates the shop's system: the nodes `catalog` and `pricing` (and whatever the caller adds). */
export function createShop(products: Product[] = PRODUCTS): Happen {
  const happen = createHappen({ id: 'edge', timeout: 5_000 });
  const catalog = happen.createNode('catalog', { state: { products } });
  catalog.on('catalog.list', (_event, ctx) => ctx.state.get((s: { products: Product[] }) => s.products));
  catalog.on('catalog.prices', (event, ctx) => {
    const skus = event.payload.skus as string[];
    const known = new Map(ctx.state.get((s: { products: Product[] }) => s.products).map((p) => [p.sku, p]));
    const unknown = skus.filter((sku) => !known.has(sku));
    if (unknown.length > 0) throw new HappenError('validation', 'UNKNOWN_SKU', `No product with SKU ${unknown.join(', ')}`, { skus: unknown });
    return skus.map((sku) => known.get(sku)!);
  });

  const pricing = happen.createNode('pricing');
  pricing.on(QuoteRequest, async (event, ctx): Promise<Quote> => {
    const { items, coupon } = event.payload;
    const percent = coupon === undefined ? 0 : COUPONS[coupon.toUpperCase()];
    if (percent === undefined) throw new HappenError('validation', 'UNKNOWN_COUPON', `No coupon "${coupon}"`, { coupon });
    const products = await ctx.send<Product[]>('catalog', { type: 'catalog.prices', payload: { skus: items.map((i) => i.sku) } }).return();
    const lines = items.map((item, i) => ({ sku: item.sku, name: products[i]!.name, qty: item.qty, price: products[i]!.price, amount: products[i]!.price * item.qty }));
    const subtotal = lines.reduce((sum, line) => sum + line.amount, 0);
    const discount = Math.round((subtotal * percent) / 100);
    return { lines, subtotal, discount, total: subtotal - discount, currency: 'EUR' };
  });
  return happen;
}
