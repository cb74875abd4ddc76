// The live dashboard: the log's events as they are appended (SubscribeToAll over Connect from
// the browser, same origin), events per minute, projection lag (from /metrics when it is served
// on this port) and recent decisions. The key, when the service asks for one, is typed by the
// operator and kept in this tab's sessionStorage: never in the page.
import { createClient } from '@connectrpc/connect';
import type { Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import { EventStoreService } from '../src/gen/auren/v1/events_pb.js';
import type { Event, Position } from '../src/gen/auren/v1/events_pb.js';

const KEY_STORAGE = 'auren.dashboard.key';
const MAX_ROWS = 200;
const MINUTES = 30;
const RETRY_MS = 2_000;

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
const status = $('#status');
const rows = $<HTMLTableSectionElement>('#events tbody');
const decisions = $<HTMLOListElement>('#decisions');
const chart = $<HTMLCanvasElement>('#chart');

const withKey: Interceptor = (next) => (request) => {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) request.header.set('authorization', `Bearer ${key}`);
  return next(request);
};
const client = createClient(EventStoreService, createConnectTransport({ baseUrl: location.origin, interceptors: [withKey] }));

$<HTMLFormElement>('#key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('#key');
  if (input.value) sessionStorage.setItem(KEY_STORAGE, input.value);
  else sessionStorage.removeItem(KEY_STORAGE);
  input.value = '';
  restart?.abort();
});

function setStatus(state: 'connecting' | 'live' | 'error', text: string): void {
  status.dataset.state = state;
  status.textContent = text;
}

// Events per minute, for the last MINUTES minutes, from the events this page received.
const perMinute = new Map<number, number>();
let total = 0;
function count(event: Event): void {
  const minute = Math.floor((event.createdAt ? Number(event.createdAt.seconds) * 1000 : Date.now()) / 60_000);
  perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
  total++;
  $('#total').textContent = `${total} events seen`;
}

function drawChart(): void {
  const context = chart.getContext('2d');
  if (!context) return;
  const now = Math.floor(Date.now() / 60_000);
  const values = Array.from({ length: MINUTES }, (_, i) => perMinute.get(now - MINUTES + 1 + i) ?? 0);
  const max = Math.max(1, ...values);
  const { width, height } = chart;
  context.clearRect(0, 0, width, height);
  const bar = width / MINUTES;
  context.fillStyle = '#3b6fd8';
  values.forEach((value, i) => {
    const h = (value / max) * (height - 20);
    context.fillRect(i * bar + 2, height - h - 14, bar - 4, h);
  });
  context.fillStyle = '#667';
  context.font = '11px system-ui';
  context.fillText(`max ${max}/min`, 4, 12);
  context.fillText(`${MINUTES} min ago`, 2, height - 2);
  context.fillText('now', width - 24, height - 2);
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function show(event: Event): void {
  const tr = document.createElement('tr');
  tr.dataset.stream = event.streamId;
  const time = event.createdAt ? new Date(Number(event.createdAt.seconds) * 1000 + event.createdAt.nanos / 1e6) : new Date();
  tr.append(
    cell(String(event.position?.commit ?? '')),
    cell(time.toISOString().slice(11, 23)),
    cell(event.type),
    cell(event.streamId),
    cell(String(event.version)),
  );
  rows.prepend(tr);
  while (rows.rows.length > MAX_ROWS) rows.deleteRow(-1);
  if (isDecision(event)) {
    if (decisions.querySelector('.muted')) decisions.replaceChildren();
    const li = document.createElement('li');
    const agent = typeof event.data?.agent_id === 'string' ? event.data.agent_id : 'an agent';
    li.textContent = `${time.toISOString().slice(0, 19).replace('T', ' ')} — ${agent} (${event.streamId})`;
    decisions.prepend(li);
    while (decisions.children.length > 20) decisions.lastElementChild?.remove();
  }
}

// A decision: RecordDecision's event, or a memory of type decision.
function isDecision(event: Event): boolean {
  if (/decision/i.test(event.type)) return true;
  const type = event.data?.type;
  return event.type === 'memory_created' && typeof type === 'string' && /decision/i.test(type);
}

let restart: AbortController | undefined;
let after: Position | undefined;

async function tail(): Promise<never> {
  for (;;) {
    restart = new AbortController();
    setStatus('connecting', 'connecting…');
    try {
      const from = after ? { case: 'position' as const, value: after } : { case: 'end' as const, value: {} };
      for await (const message of client.subscribeToAll({ from }, { signal: restart.signal })) {
        switch (message.message.case) {
          case 'caughtUp':
            setStatus('live', 'live');
            break;
          case 'event':
            after = message.message.value.position;
            count(message.message.value);
            show(message.message.value);
            break;
          case 'checkpoint':
            after = message.message.value.position;
            break;
        }
      }
    } catch (error) {
      if (!restart.signal.aborted) setStatus('error', `disconnected: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!restart.signal.aborted) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

// Projection lag from /metrics, when it is served on this port (with METRICS_PORT it is not).
async function refreshLag(): Promise<void> {
  const body = $<HTMLTableSectionElement>('#lag tbody');
  try {
    const response = await fetch('/metrics');
    if (!response.ok) throw new Error(`/metrics: ${response.status}`);
    const lag = new Map<string, { events?: number; seconds?: number }>();
    for (const match of (await response.text()).matchAll(
      /^auren_projection(?:_reported)?_lag_(events|seconds)\{projection="([^"]*)"\} (\S+)$/gm,
    )) {
      const entry = lag.get(match[2]!) ?? {};
      entry[match[1] as 'events' | 'seconds'] = Number(match[3]);
      lag.set(match[2]!, entry);
    }
    if (lag.size === 0) {
      body.innerHTML = '<tr><td colspan="3" class="muted">no projections</td></tr>';
      return;
    }
    body.replaceChildren(
      ...[...lag].map(([name, { events, seconds }]) => {
        const tr = document.createElement('tr');
        tr.append(cell(name), cell(String(events ?? '–')), cell(seconds === undefined ? '–' : seconds.toFixed(1)));
        return tr;
      }),
    );
  } catch {
    body.innerHTML = '<tr><td colspan="3" class="muted">not available here (metrics on the admin port)</td></tr>';
  }
}

drawChart();
setInterval(drawChart, 1_000);
void refreshLag();
setInterval(() => void refreshLag(), 5_000);
void tail();
