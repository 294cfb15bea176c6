// Runs Debian's nats-server for a test file: loopback only, free ports, JetStream in a temp dir, a WebSocket
// listener for the transport. There is no systemd on CI, so the server is a child process stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../free-port.mjs';

export const NATS_SERVER = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';

export interface NatsServer {
  /** `ws://127.0.0.1:<port>`: what the transport connects to. */
  wsUrl: string;
  /** `nats://127.0.0.1:<port>`: the plain client port, for raw clients in tests. */
  natsUrl: string;
  /** Stops the server and starts it again on the same ports and store (JetStream state survives). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the server and removes its files. */
  dispose(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts a server; `extra` lines are appended to its config (e.g. an `authorization` block). */
export async function startNatsServer(extra: string[] = []): Promise<NatsServer> {
  if (!existsSync(NATS_SERVER)) throw new Error(`${NATS_SERVER} is missing: apt-get install -y nats-server`);
  const dir = mkdtempSync(join(tmpdir(), 'happen-nats-'));
  const [port, wsPort] = [await freePort(), await freePort()];
  const config = join(dir, 'nats.conf');
  writeFileSync(
    config,
    [
      `listen: 127.0.0.1:${port}`,
      `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`,
      `websocket { host: 127.0.0.1, port: ${wsPort}, no_tls: true }`,
      ...extra,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let log = '';

  async function start(): Promise<void> {
    log = '';
    const proc = spawn(NATS_SERVER, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout!.on('data', (d) => (log += d));
    proc.stderr!.on('data', (d) => (log += d));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited (${proc.exitCode}):\n${log}`);
      // "Server is ready" comes after JetStream and both listeners are up.
      if (/Server is ready/.test(log) && (await accepts(port)) && (await accepts(wsPort))) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`nats-server did not start within 10 s:\n${log}`);
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.pid === undefined) return;
    const exited = new Promise((r) => proc.once('exit', r));
    process.kill(proc.pid, 'SIGTERM');
    const timer = setTimeout(() => proc.pid !== undefined && proc.exitCode === null && process.kill(proc.pid, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    natsUrl: `nats://127.0.0.1:${port}`,
    async restart() {
      await stop();
      await start();
    },
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
