/**
 * The workerd side of the cross-runtime test: the Cloudflare hub, whose Durable Object also hosts one
 * edge node. `edge` answers `report.generate` by announcing the report and asking Deno's `db` for rows.
 */
import { createHappen } from '../../src/index.ts';
import { mesh } from '../../src/mesh/index.ts';
import { HubDurableObject, hubWorker, localTransport, type Relay } from './edge-hub-deps.ts';

export class EdgeHub extends HubDurableObject {
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
