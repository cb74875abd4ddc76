import type { EventStoreService } from '../gen/auren/v1/events_pb.js';
import type { MemoryService } from '../gen/auren/v1/memory_pb.js';
import type { Scope } from './principal.js';

// The scope each RPC needs before its handler runs. What it then touches (whose memory, which
// person, which stream) is checked by the module that owns it.

/** EventStoreService. Reads of a person's data in the log also need audit:read (memory/logReads.ts). */
export const EVENT_STORE_SCOPES: { [K in keyof (typeof EventStoreService)['method']]: Scope } = {
  appendToStream: 'events:append',
  readStream: 'events:read',
  readAll: 'events:read',
  getStreamInfo: 'events:read',
  getEvent: 'events:read',
  subscribeToStream: 'events:read',
  subscribeToAll: 'events:read',
};

/** MemoryService. */
export const MEMORY_SCOPES: { [K in keyof (typeof MemoryService)['method']]: Scope } = {
  storeMemory: 'memory:write',
  updateMemory: 'memory:write',
  deleteMemory: 'memory:write',
  getMemory: 'memory:read',
  listMemories: 'memory:read',
  searchMemories: 'memory:read',
  getMemoryHistory: 'memory:read',
  getMemoryStats: 'memory:read',
  listAuditTrail: 'audit:read',
  // Collaboration: reading what other agents recorded is the shared-context scope's purpose.
  getSharedContext: 'memory:shared',
  recordDecision: 'memory:write',
  handoffAgent: 'memory:write',
  listPendingHandoffs: 'memory:read',
  acknowledgeHandoff: 'memory:write',
  recordConversationTurn: 'memory:write',
  listConversationTurns: 'memory:read',
  recordHypothesis: 'memory:write',
  listHypotheses: 'memory:read',
  getUserProfile: 'memory:read',
  upsertUserProfile: 'memory:write',
  addKnowledge: 'memory:write',
  listKnowledge: 'memory:read',
  validateKnowledge: 'memory:write',
  recordBiometricReading: 'memory:write',
  listBiometricReadings: 'memory:read',
};
