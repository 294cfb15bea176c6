/**
 * The edge function: a Cloudflare Worker whose requests are events. `GET /catalog` and
 * `POST /quote` go through the `http` node to the shop's nodes (shop.ts); the answer is the
 * Response. One Happen system per isolate, created on the first request and reused.
 *   npm run example:edge                  (miniflare on loopback, see dev.mjs)
 *   npx wrangler dev examples/edge-function/worker.ts  or  wrangler deploy  (wrangler.toml)
 */
import { httpNode, type Route } from './http.ts';
import { createShop } from './shop.ts';

/** The API: each route names the node and event type a request becomes. */
export const ROUTES: Route[] = [
  { method: 'GET', path: '/catalog', node: 'catalog', type: 'catalog.list' },
  { method: 'POST', path: '/quote', node: 'pricing', type: 'quote.create' },
];

let handler: ((request: Request) => Promise<Response>) | undefined;

export default {
  fetch(request: Request): Promise<Response> {
    handler ??= httpNode(createShop(), ROUTES).fetch;
    return handler(request);
  },
};
