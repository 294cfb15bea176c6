/**
 * The workerd side of the cross-runtime test: the Cloudflare hub, whose Durable Object also hosts one
 * edge node. `edge` answers `report.generate` by announcing the report and asking Deno's `db` for rows.
 */
import { createHappen } from '../../src/index.ts';
import { mesh } from '../../src/mesh/index.ts';
import { HubDurableObject, hubWorker, localTransport, type HubDurableObjectState, type HubEnv, type Relay } from './edge-hub-deps.ts';

export class EdgeHub extends HubDurableObject {
  readonly #storage: HubDurableObjectState['storage'];

  constructor(ctx: HubDurableObjectState, env: Partial<HubEnv> = {}) {
    super(ctx, env);
    this.#storage = ctx.storage;
  }

  /** For the tests, `/mesh/<mesh>/test/logged/<receiver>`: how many frames the mesh's durable log holds for that receiver. */
  override async fetch(request: Request): Promise<Response> {
    const match = /^\/mesh\/([^/]+)\/test\/logged\/([^/]+)$/.exec(new URL(request.url).pathname);
    if (!match) return super.fetch(request);
    // The relay's log keys: `happen/hub/<mesh>/log/<receiver>/<sender>/<seq>` (src/hub/relays.ts, durable-log.ts).
    const logged = await this.#storage.list({ prefix: `happen/hub/${match[1]}/log/${match[2]}/` });
    return Response.json({ frames: logged.size });
  }

  protected override meshOpened(name: string, relay: Relay): void {
    const edgeMesh = mesh({ transports: [localTransport(relay)], heartbeatMs: 300 });
    const happen = createHappen({ id: `edge-${name}`, extensions: [edgeMesh] });
    happen.createNode('edge').on('report.generate', (event, ctx) => {
      ctx.broadcast({ type: 'report.started', payload: { user: event.payload.user } });
      return ctx.send('db', { type: 'rows.get', payload: { user: event.payload.user } });
    });
  }
}

export default hubWorker;
