/**
 * The cross-tab chat page: open it in two or more tabs of one browser. The name comes from `?name=`,
 * else the one this tab used before (sessionStorage, so a reload keeps it), else a random guest name.
 * `window.chat` is the joined room, for playing with it from the console.
 */
import { cleanName, joinRoom, type ChatRoom } from './chat-room.ts';
import type { ChatMessage } from './history.ts';

const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;
const messages = $<HTMLUListElement>('#messages');
const roster = $<HTMLUListElement>('#roster');
const form = $<HTMLFormElement>('#say');
const input = $<HTMLInputElement>('#text');
const status = $<HTMLElement>('#status');

function tabName(): string {
  const asked = cleanName(new URLSearchParams(location.search).get('name') ?? '');
  const name = asked || sessionStorage.getItem('happen-chat-name') || `guest-${crypto.randomUUID().slice(0, 4)}`;
  sessionStorage.setItem('happen-chat-name', name);
  return name;
}

const shown = new Set<string>();
function showMessage(message: ChatMessage): void {
  if (shown.has(message.id)) return; // history and a live copy of the same message
  shown.add(message.id);
  const li = document.createElement('li');
  li.className = 'message';
  li.dataset.id = message.id;
  const time = new Date(message.at).toLocaleTimeString();
  li.append(Object.assign(document.createElement('time'), { textContent: time }), ' ');
  li.append(Object.assign(document.createElement('b'), { className: 'from', textContent: message.from }), ': ');
  li.append(Object.assign(document.createElement('span'), { className: 'text', textContent: message.text }));
  // Keep id (= time) order: a live message can land while history is still being drawn.
  const later = [...messages.children].find((el) => (el as HTMLElement).dataset.id! > message.id);
  messages.insertBefore(li, later ?? null);
  li.scrollIntoView({ block: 'nearest' });
}

function showNotice(text: string): void {
  const li = document.createElement('li');
  li.className = 'notice';
  li.textContent = text;
  messages.append(li);
}

function showRoster(present: string[], me: string): void {
  roster.replaceChildren(
    ...present.map((name) => {
      const li = Object.assign(document.createElement('li'), { textContent: name === me ? `${name} (you)` : name });
      li.dataset.name = name;
      return li;
    }),
  );
}

const name = tabName();
document.title = `chat — ${name}`;
$('#me').textContent = name;
const room: ChatRoom = await joinRoom(name, {
  message: showMessage,
  presence(change, present) {
    showNotice(`${change.name} ${change.change}${change.reason && change.reason !== 'bye' ? ` (${change.reason})` : ''}`);
    showRoster(present, name);
  },
});
showRoster(room.present(), name);
for (const message of await room.history()) showMessage(message);

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value;
  room.say(text).then(
    () => {
      input.value = '';
      status.textContent = '';
    },
    (error: Error) => void (status.textContent = error.message),
  );
});
// Say goodbye as the tab goes, so the others show it as left at once rather than after 3 missed heartbeats.
addEventListener('pagehide', () => void room.leave());
// Back from the back/forward cache the room is closed: join afresh.
addEventListener('pageshow', (e) => e.persisted && location.reload());
document.body.dataset.ready = 'true';
(globalThis as Record<string, unknown>).chat = room;
