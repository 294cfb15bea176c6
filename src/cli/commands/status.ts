/**
 * `happen status [--hub URL] [--mesh M] [--json]`: is the hub up, which meshes does it serve, which
 * systems and nodes are connected to each, and how are they doing — the health their ops nodes
 * report (systems with observability on; `happen dev` turns it on in every node process).
 */
import { parseCommand, type Command } from '../args.ts';
import { getJson, hubTarget, meshApi, type HubTarget } from '../hub-client.ts';
import { CliError, createOutput } from '../output.ts';
import type { SerializedError } from '../../core/errors.ts';
import type { NodeMap, OpsAnswer } from '../../observe/dashboard.ts';
import type { NodeHealth, SystemHealth } from '../../observe/ops-contract.ts';

/** One node as `status` reports it. */
export interface NodeStatus {
  id: string;
  /** From the system's ops node, when it has one. */
  health?: Omit<NodeHealth, 'node' | 'system'>;
}

/** One connected system as `status` reports it. */
export interface SystemStatus {
  system: string;
  nodes: NodeStatus[];
  lastSeen: number;
  /** Whether it hosts an ops node (observability on). */
  ops: boolean;
  queue?: SystemHealth['queue'];
  deadLetters?: number;
  /** Why its health is unknown. */
  healthError?: SerializedError;
}

/** One mesh as `status` reports it. */
export interface MeshStatus {
  mesh: string;
  peers: number;
  nodes: number;
  systems: SystemStatus[];
}

/** What `happen status --json` prints. */
export interface HubStatus {
  url: string;
  ok: boolean;
  meshes: number;
  peers: number;
  nodes: number;
  /** Whether the hub serves the dashboard API (without it only the totals are known). */
  dashboard: boolean;
  mesh: MeshStatus[];
}

/** `happen status`: the hub, its meshes, systems, nodes and their health. */
export const status: Command = {
  name: 'status',
  summary: "show a hub's health, meshes, systems and their nodes' health",
  usage: `Usage: happen status [--hub <url>] [--mesh <mesh>] [--json]

Asks a running hub (default: happen.config.json's hub.url, else the local hub) for its health and
its meshes, the systems connected to each with their nodes, and the nodes' health as their systems'
ops nodes report it (observability on: happen dev runs every node process with it).

Options:
  --hub <url>    the hub (http(s):// or ws(s)://; a /mesh/<name> path names the mesh)
  --mesh <mesh>  only this mesh (default: every mesh the hub serves)
  --json         print {"url", "ok", "meshes", "peers", "nodes", "dashboard", "mesh": [...]}

Set HAPPEN_SECRET when the hub has one: status mints a dashboard token from it.`,
  async run(args, io) {
    const { values } = parseCommand(args, { hub: { type: 'string' }, mesh: { type: 'string' } });
    const out = createOutput(io, values.json === true);
    const target = await hubTarget(io, { hub: values.hub, mesh: values.mesh });
    const found = await hubStatus(target, io.signal);
    out.result(found, render(found));
    return 0;
  },
};

/** Asks the hub for everything `status` shows. */
export async function hubStatus(target: HubTarget, signal?: AbortSignal): Promise<HubStatus> {
  const health = await getJson<{ ok: boolean; meshes: number; peers: number; nodes: number }>(target, `${target.url}/health`, signal);
  const base: HubStatus = { url: target.url, ok: health.ok, meshes: health.meshes, peers: health.peers, nodes: health.nodes, dashboard: true, mesh: [] };
  let listed: Array<{ mesh: string; peers: number; nodes: number }>;
  try {
    listed = (await getJson<{ meshes: Array<{ mesh: string; peers: number; nodes: number }> }>(target, `${target.url}/dashboard/api/meshes`, signal)).meshes;
  } catch (error) {
    if (error instanceof CliError && error.code === 'NO_DASHBOARD') return { ...base, dashboard: false };
    throw error;
  }
  const wanted = target.meshGiven ? [listed.find((m) => m.mesh === target.mesh) ?? { mesh: target.mesh, peers: 0, nodes: 0 }] : listed;
  base.mesh = await Promise.all(wanted.map((m) => meshStatus({ ...target, mesh: m.mesh }, m, signal)));
  return base;
}

async function meshStatus(target: HubTarget, totals: { mesh: string; peers: number; nodes: number }, signal?: AbortSignal): Promise<MeshStatus> {
  const [map, health] = await Promise.all([
    getJson<Omit<NodeMap, 'systems'> & { systems: Array<NodeMap['systems'][number] & { ops: boolean }> }>(target, meshApi(target, 'nodes'), signal),
    getJson<{ systems: Array<OpsAnswer<SystemHealth>> }>(target, meshApi(target, 'health'), signal),
  ]);
  const answers = new Map(health.systems.map((a) => [a.system, a]));
  const systems = map.systems.map((s): SystemStatus => {
    const answer = answers.get(s.system);
    const byNode = new Map(answer?.ok ? answer.value.nodes.map((n) => [n.node, n]) : []);
    const system: SystemStatus = {
      system: s.system,
      // The ops node itself is plumbing: its system's line says whether it is there.
      nodes: s.nodes.filter((id) => !id.startsWith('happen.')).map((id) => {
        const found = byNode.get(id);
        if (found === undefined) return { id };
        const { node: _node, system: _system, ...rest } = found;
        return { id, health: rest };
      }),
      lastSeen: s.lastSeen,
      ops: s.ops,
    };
    if (answer?.ok) {
      system.queue = answer.value.queue;
      system.deadLetters = answer.value.deadLetters;
    } else if (answer) system.healthError = answer.error;
    return system;
  });
  return { mesh: totals.mesh, peers: totals.peers, nodes: totals.nodes, systems };
}

const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;

/** The human form of a status. */
export function render(s: HubStatus): string {
  const lines = [`Hub ${s.url}: ${s.ok ? 'up' : 'not ok'} (${plural(s.meshes, 'mesh', 'meshes')}, ${plural(s.peers, 'peer')}, ${plural(s.nodes, 'node')})`];
  if (!s.dashboard) {
    lines.push('  (this hub serves no dashboard API, so its systems and nodes are not listed)');
    return lines.join('\n');
  }
  if (s.mesh.length === 0) lines.push('  no meshes yet: nothing has connected');
  for (const m of s.mesh) {
    lines.push('', `Mesh ${m.mesh}: ${plural(m.systems.length, 'system')}`);
    if (m.systems.length === 0) lines.push('  nothing connected');
    const width = Math.max(8, ...m.systems.flatMap((sys) => sys.nodes.map((n) => n.id.length)));
    for (const sys of m.systems) {
      const extra = sys.queue ? `queue ${sys.queue.depth}, dead letters ${sys.deadLetters ?? 0}` : sys.ops ? `health unknown: ${sys.healthError?.message ?? 'no answer'}` : 'no ops node: turn observability on for health';
      lines.push(`  ${sys.system} (${extra})`);
      if (sys.nodes.length === 0) lines.push('    no nodes');
      for (const n of sys.nodes) {
        const h = n.health;
        lines.push(h ? `    ${n.id.padEnd(width)}  ${h.status.padEnd(8)}  ${h.eventsIn} in, ${h.eventsOut} out, ${h.failures} failed, ${h.avgLatencyMs.toFixed(1)} ms avg` : `    ${n.id}`);
      }
    }
  }
  return lines.join('\n');
}
