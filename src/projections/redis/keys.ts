/** Where the Redis projection keeps things: every key starts with the configured prefix. */
export interface RedisKeys {
  /** Hash: one live memory. */
  memory(id: string): string;
  /** Sorted set by created_at: an agent's memories. */
  agentMemories(agentId: string): string;
  /** Sorted set by created_at: a person's memories with one agent. */
  personAgentMemories(userId: string, agentId: string): string;
  /** Sorted set by created_at: a person's recent conversation memories. */
  personConversations(userId: string): string;
  /** Sorted set by created_at: an agent's recent decision memories. */
  agentDecisions(agentId: string): string;
  /** String "commit/prepare": the position of the last event the projection applied. */
  applied: string;
  /** Hash: every list made since the projection replayed the log from its start, and '^origin' (scripts.ts). */
  lists: string;
  /** What every memory's key starts with. */
  memoryPrefix: string;
  /** Matches every key of the projection (for a rebuild). */
  pattern: string;
}

// Ids are free text: ':' and '*' are escaped so that no id can make another key's name.
const part = (id: string) => encodeURIComponent(id).replace(/\*/g, '%2A');

/** The keys under `prefix` (e.g. "auren:"). */
export function redisKeys(prefix: string): RedisKeys {
  return {
    memory: (id) => `${prefix}memory:${part(id)}`,
    agentMemories: (agentId) => `${prefix}agent:${part(agentId)}:memories`,
    personAgentMemories: (userId, agentId) => `${prefix}user:${part(userId)}:agent:${part(agentId)}:memories`,
    personConversations: (userId) => `${prefix}user:${part(userId)}:conversations`,
    agentDecisions: (agentId) => `${prefix}agent:${part(agentId)}:decisions`,
    applied: `${prefix}projection:applied`,
    lists: `${prefix}projection:lists`,
    memoryPrefix: `${prefix}memory:`,
    pattern: `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`,
  };
}
