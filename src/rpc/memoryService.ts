import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { GetMemoryStatsResponseSchema, ListAuditTrailResponseSchema } from '../gen/auren/v1/memory_pb.js';
import type { MemoryService, MemoryType as ProtoMemoryType } from '../gen/auren/v1/memory_pb.js';
import type { MemoryHistory } from '../memory/history.js';
import type { ListFilter, MemoryReads } from '../memory/reads.js';
import type { MemoryWrites } from '../memory/writes.js';
import type { Handlers } from './call.js';
import { collaborationHandlers } from './collaborationService.js';
import type { CollaborationParts } from './collaborationService.js';
import { eventToProto } from './convert.js';
import {
  memoryToProto,
  memoryTypeFromProto,
  memoryTypesFromProto,
  searchModeFromProto,
  searchModeToProto,
  timeFromProto,
} from './memoryConvert.js';

/** The memory module's parts that MemoryService serves, and the collaboration module's. */
export interface MemoryParts {
  writes: MemoryWrites;
  reads: MemoryReads;
  history: MemoryHistory;
  collaboration: CollaborationParts;
}

/**
 * MemoryService, once for every transport: translates protobuf to the memory module's calls and
 * back. Unset strings and zeros mean "no filter". Writes and audited reads get the call's signal,
 * so a caller that gives up before their commit writes nothing.
 */
export function memoryHandlers({ writes, reads, history, collaboration }: MemoryParts): Handlers<typeof MemoryService> {
  return {
    ...collaborationHandlers(collaboration),

    async storeMemory(request, call) {
      const memory = await writes.storeMemory(
        call.principal,
        {
          agentId: request.agentId,
          userId: request.userId === '' ? null : request.userId,
          type: memoryTypeFromProto('type', request.type),
          content: request.content,
          metadata: request.metadata,
          confidence: request.confidence,
          expiresAt: timeFromProto('expires_at', request.expiresAt),
          embedding: request.embedding,
        },
        call.signal,
      );
      return { memory: memoryToProto(memory, call.wire) };
    },

    async getMemory(request, call) {
      return { memory: memoryToProto(await reads.getMemory(call.principal, request.id, request.includeExpired, call.signal), call.wire) };
    },

    async listMemories(request, call) {
      const filter = { ...filterFromProto(request), pageSize: request.pageSize, pageToken: request.pageToken || undefined };
      const page = await reads.listMemories(call.principal, filter, call.signal);
      return { memories: page.memories.map((m) => memoryToProto(m, call.wire)), nextPageToken: page.nextPageToken };
    },

    async updateMemory(request, call) {
      const { id, content, metadata, confidence, expectedVersion, embedding } = request;
      const memory = await writes.updateMemory(
        call.principal,
        { id, content, metadata, confidence, expectedVersion, embedding },
        call.signal,
      );
      return { memory: memoryToProto(memory, call.wire) };
    },

    async deleteMemory(request, call) {
      return { memory: memoryToProto(await writes.deleteMemory(call.principal, request.id, request.reason, call.signal), call.wire) };
    },

    async searchMemories(request, call) {
      const query = {
        ...filterFromProto(request),
        text: request.query,
        mode: searchModeFromProto(request.mode),
        limit: request.limit,
        embedding: request.embedding,
      };
      const results = await reads.searchMemories(call.principal, query, call.signal);
      return {
        results: results.map((result) => ({
          memory: memoryToProto(result.memory, call.wire),
          score: result.score,
          matchedBy: result.matchedBy.map(searchModeToProto),
          fullTextRank: result.fullTextRank ?? 0,
          semanticRank: result.semanticRank ?? 0,
        })),
      };
    },

    async getMemoryHistory(request, call) {
      const page = await history.getMemoryHistory(call.principal, request.id, request.pageSize, request.pageToken, call.signal);
      return { events: page.events.map((e) => eventToProto(e)), nextPageToken: page.nextPageToken };
    },

    async getMemoryStats(request, call) {
      const stats = await reads.getMemoryStats(call.principal, request.agentId);
      return create(GetMemoryStatsResponseSchema, {
        countByType: Object.fromEntries(Object.entries(stats.countByType).map(([type, count]) => [type, BigInt(count)])),
        total: BigInt(stats.total),
        averageConfidence: stats.averageConfidence,
        lastCreatedAt: stats.lastCreatedAt === null ? undefined : timestampFromMs(stats.lastCreatedAt),
      });
    },

    async listAuditTrail(request, call) {
      const page = await history.listAuditTrail(
        call.principal,
        request.userId,
        timeFromProto('from', request.from),
        timeFromProto('to', request.to),
        request.pageSize,
        request.pageToken,
        call.signal,
      );
      return create(ListAuditTrailResponseSchema, { events: page.events.map((e) => eventToProto(e)), nextPageToken: page.nextPageToken });
    },
  };
}

// The filters ListMemories and SearchMemories share. Unset strings and zeros mean "no filter".
function filterFromProto(request: {
  agentId: string;
  userId: string;
  types: ProtoMemoryType[];
  minConfidence: number;
  includeExpired: boolean;
}): Omit<ListFilter, 'pageSize' | 'pageToken'> {
  return {
    agentId: request.agentId || undefined,
    userId: request.userId || undefined,
    types: memoryTypesFromProto('types', request.types),
    minConfidence: request.minConfidence === 0 ? undefined : request.minConfidence,
    includeExpired: request.includeExpired,
  };
}
