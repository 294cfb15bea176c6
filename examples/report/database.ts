/**
 * A wrapped database as a node: it owns its rows and answers `db.sales` queries. Nothing reaches
 * the rows except through events, so the same node works in a tab, a worker, an edge function or a server.
 */
import * as v from 'valibot';
import type { Happen, HappenNode } from '../../src/index.ts';

/** One sales row. */
export interface Sale {
  region: string;
  month: string;
  amount: number;
}

/** The regions the sample data covers (the analyst's tool offers exactly these). */
export const REGIONS = ['north', 'south', 'east', 'west'] as const;

const SAMPLE: Sale[] = REGIONS.flatMap((region, r) =>
  ['2026-09', '2026-10', '2026-11'].map((month, m) => ({ region, month, amount: 1_000 + r * 250 + m * 120 })),
);

const query = v.object({ region: v.picklist(REGIONS), month: v.optional(v.string()) });

/** Creates the database node in `happen` (id `db` unless given). */
export function createSalesDatabase(happen: Happen, id = 'db'): HappenNode<{ rows: Sale[] }> {
  const db = happen.createNode(id, { state: { rows: SAMPLE } });
  db.on('db.sales', { schema: query }, (event, ctx) => {
    const { region, month } = event.payload;
    const rows = ctx.state.get((s: { rows: Sale[] }) => s.rows).filter((row) => row.region === region && (!month || row.month === month));
    if (rows.length === 0) throw new Error(`no sales recorded for ${region} in ${month}`); // becomes an error event to the asker
    return { region, rows, total: rows.reduce((sum, row) => sum + row.amount, 0) };
  });
  return db;
}
