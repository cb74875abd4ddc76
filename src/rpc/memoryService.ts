import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { serveMethods } from './requestCheck.js';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { GetMemoryStatsResponseSchema, ListAuditTrailResponseSchema, MemoryService } from '../gen/auren/v1/memory_pb.js';
import type { MemoryHistory } from '../memory/history.js';
import type { MemoryReads } from '../memory/reads.js';
import type { MemoryWrites } from '../memory/writes.js';
import { eventToProto } from './convert.js';
import {
  callerFrom, memoryToProto, memoryTypeFromProto, memoryTypesFromProto, searchModeFromProto, timeFromProto,
} from './memoryConvert.js';

/** The memory module's parts that MemoryService serves. */
export interface MemoryParts {
  writes: MemoryWrites;
  reads: MemoryReads;
  history: MemoryHistory;
}

/** Serves MemoryService: translates protobuf to the memory module's calls and back. Unset strings and zeros mean "no filter". */
export function registerMemoryService(router: ConnectRouter, { writes, reads, history }: MemoryParts): void {
  serveMethods(router, MemoryService, {
    async storeMemory(request, context) {
      const memory = await writes.storeMemory(callerFrom(context.requestHeader, request.agentId), {
        agentId: request.agentId,
        userId: request.userId === '' ? null : request.userId,
        type: memoryTypeFromProto('type', request.type),
        content: request.content,
        metadata: request.metadata,
        confidence: request.confidence,
        expiresAt: timeFromProto('expires_at', request.expiresAt),
      });
      return { memory: memoryToProto(memory) };
    },

    async getMemory(request, context) {
      return { memory: memoryToProto(await reads.getMemory(callerFrom(context.requestHeader), request.id, request.includeExpired)) };
    },

    async listMemories(request, context) {
      const page = await reads.listMemories(callerFrom(context.requestHeader), {
        agentId: request.agentId || undefined,
        userId: request.userId || undefined,
        types: memoryTypesFromProto('types', request.types),
        minConfidence: request.minConfidence === 0 ? undefined : request.minConfidence,
        includeExpired: request.includeExpired,
        pageSize: request.pageSize,
        pageToken: request.pageToken || undefined,
      });
      return { memories: page.memories.map(memoryToProto), nextPageToken: page.nextPageToken };
    },

    async updateMemory(request, context) {
      const memory = await writes.updateMemory(callerFrom(context.requestHeader), {
        id: request.id,
        content: request.content,
        metadata: request.metadata,
        confidence: request.confidence,
        expectedVersion: request.expectedVersion,
      });
      return { memory: memoryToProto(memory) };
    },

    async deleteMemory(request, context) {
      return { memory: memoryToProto(await writes.deleteMemory(callerFrom(context.requestHeader), request.id, request.reason)) };
    },

    async searchMemories(request, context) {
      const results = await reads.searchMemories(callerFrom(context.requestHeader), {
        text: request.query,
        agentId: request.agentId || undefined,
        userId: request.userId || undefined,
        types: memoryTypesFromProto('types', request.types),
        mode: searchModeFromProto(request.mode),
        limit: request.limit,
        minConfidence: request.minConfidence === 0 ? undefined : request.minConfidence,
        includeExpired: request.includeExpired,
      });
      return { results: results.map(({ memory, score }) => ({ memory: memoryToProto(memory), score })) };
    },

    async getMemoryHistory(request, context) {
      const events = await history.getMemoryHistory(callerFrom(context.requestHeader), request.id);
      return { events: events.map((e) => eventToProto(e)) };
    },

    async getMemoryStats(request) {
      const stats = await reads.getMemoryStats(request.agentId);
      return create(GetMemoryStatsResponseSchema, {
        countByType: Object.fromEntries(Object.entries(stats.countByType).map(([type, count]) => [type, BigInt(count)])),
        total: BigInt(stats.total),
        averageConfidence: stats.averageConfidence,
        lastCreatedAt: stats.lastCreatedAt === null ? undefined : timestampFromMs(stats.lastCreatedAt),
      });
    },

    async listAuditTrail(request) {
      const page = await history.listAuditTrail(
        request.userId,
        timeFromProto('from', request.from),
        timeFromProto('to', request.to),
        request.pageSize,
        request.pageToken,
      );
      return create(ListAuditTrailResponseSchema, { events: page.events.map((e) => eventToProto(e)), nextPageToken: page.nextPageToken });
    },
  });
}
