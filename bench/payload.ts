import { randomUUID } from 'node:crypto';

/** A memory_created-like event payload of about 300 bytes as JSON. */
export type Payload = {
  memory_id: string;
  team_id: string;
  agent_id: string;
  kind: string;
  content: string;
  tags: string[];
  importance: number;
  source: { conversation_id: string; turn: number };
};

export const EVENT_TYPE = 'memory_created';

const CONTENT = 'Prefers invoices in EUR; email after 17:00 CET, never phone.';

/** The payloads of one append: `count` events from `client`'s `seq`-th append. */
export function payloads(client: number, seq: number, count: number): Payload[] {
  const conversation = randomUUID();
  const events: Payload[] = [];
  for (let i = 0; i < count; i++) {
    events.push({
      memory_id: randomUUID(),
      team_id: 'team-7f3a9c2e',
      agent_id: `agent-${client}`,
      kind: 'fact',
      content: CONTENT,
      tags: ['billing', 'preferences', 'contact'],
      importance: 0.72,
      source: { conversation_id: conversation, turn: seq * count + i },
    });
  }
  return events;
}

/** Size of one payload as JSON, for the report. */
export function payloadBytes(): number {
  return Buffer.byteLength(JSON.stringify(payloads(0, 0, 1)[0]));
}
