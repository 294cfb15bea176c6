/** The `browser` node template: a tab's UI node, the tabs of an origin meshed over BroadcastChannel. */
import { fill, type NodeTemplate } from '../files.ts';

const source = `/**
 * The \`__name__\` node: the UI of a browser tab. Each tab runs its own Happen system; \`openTab()\`
 * meshes it with the origin's other tabs and workers over BroadcastChannel (\`happen:__mesh__\`), so a
 * note posted in one tab reaches the \`__name__\` node of every tab, this one included. The notes are
 * the node's state; \`render\` draws them into an element and redraws on every change.
 *
 *   // a page's module script, bundled (esbuild, vite):
 *   import { openTab, post, render } from './nodes/__name__.ts';
 *   const tab = openTab();
 *   render(tab.node, document.querySelector('#notes')!);
 *   form.addEventListener('submit', (e) => { e.preventDefault(); void post(tab.node, input.value); });
 *
 * To reach nodes beyond the browser, add a WebSocket transport to the mesh in \`openTab\`
 * (\`websocket(hubUrl + '/mesh/__mesh__')\` from \`happen/transports/websocket\`).
 */
import { createHappen, defineEvent, type Happen, type HappenEvent, type HappenNode } from 'happen';
import { mesh, type Mesh } from 'happen/mesh';
import { broadcastChannel } from 'happen/transports/broadcast-channel';
import * as v from 'valibot';

/** One note, as every tab keeps it. */
export interface __Name__Note {
  id: string;
  text: string;
  from: string;
  at: number;
}

/** The node's state: the latest notes, oldest first. */
export interface __Name__State {
  notes: __Name__Note[];
}

/** How many notes a tab keeps. */
export const MAX_NOTES = 100;

/** \`__name__.note\`: broadcast to the \`__name__\` node of every tab. */
export const Note__Name__ = defineEvent(
  '__name__.note',
  v.object({ text: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(500)), from: v.string(), at: v.number() }),
);

/** Creates this tab's \`__name__\` node in \`happen\`; its id, \`__name__-<system id>\`, is one per tab. */
export default function setup(happen: Happen): HappenNode<__Name__State> {
  const node = happen.createNode<__Name__State>('__name__-' + happen.id, { state: { notes: [] } });
  node.on(Note__Name__, (event) => {
    const note: __Name__Note = { id: event.id, ...event.payload };
    node.state.set((state) => ({ notes: [...state.notes, note].slice(-MAX_NOTES) }));
  });
  return node;
}

/** Posts a note to every tab; resolves once it is accepted. */
export function post(node: HappenNode<__Name__State>, text: string): Promise<HappenEvent> {
  return node.emit(Note__Name__.create({ text, from: node.id, at: Date.now() }));
}

/** Draws the notes into \`element\` (a list: \`<ul>\` or \`<ol>\`) now and on every change; returns a function that stops. */
export function render(node: HappenNode<__Name__State>, element: HTMLElement): () => void {
  const draw = (state: __Name__State) => {
    element.replaceChildren(
      ...state.notes.map((note) => {
        const item = document.createElement('li');
        item.textContent = note.text; // text, never HTML: a note cannot inject markup
        item.title = note.from + ' at ' + new Date(note.at).toLocaleTimeString();
        return item;
      }),
    );
  };
  draw(node.state.get());
  return node.hook('postStateChange', (_previous, next) => draw(next));
}

/** A tab: its own system meshed with the origin's other tabs over BroadcastChannel, and its \`__name__\` node. */
export interface __Name__Tab {
  happen: Happen;
  link: Mesh;
  node: HappenNode<__Name__State>;
  /** Leaves the mesh (the other tabs see this tab's node go). */
  close(): Promise<void>;
}

/** Opens this tab's system (default id \`tab-<random>\`) on the \`__mesh__\` mesh. */
export function openTab(options: { mesh?: string; id?: string } = {}): __Name__Tab {
  const link = mesh({ transports: [broadcastChannel({ mesh: options.mesh ?? '__mesh__' })] });
  const happen = createHappen({ id: options.id ?? 'tab-' + crypto.randomUUID().slice(0, 8), extensions: [link] });
  return { happen, link, node: setup(happen), close: () => link.close() };
}
`;

/** A browser tab's UI node. */
export const browserTemplate: NodeTemplate = {
  id: 'browser',
  summary: 'a tab\'s UI node with DOM rendering; the tabs of an origin meshed over BroadcastChannel',
  events: (name) => [`${name}.note`],
  render: (names) => fill(source, names),
};
