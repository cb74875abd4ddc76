import { create, toBinary } from '@bufbuild/protobuf';
import type { DescFile } from '@bufbuild/protobuf';
import { nestedTypes } from '@bufbuild/protobuf/reflect';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import { file_health_v1_health } from '../gen/health/v1/health_pb.js';
import * as v1 from '../gen/grpc/reflection/v1/reflection_pb.js';
import * as v1alpha from '../gen/grpc/reflection/v1alpha/reflection_pb.js';

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** Plain response body, valid for both reflection versions (they differ only in package name). */
type Answer =
  | { case: 'fileDescriptorResponse'; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: 'allExtensionNumbersResponse'; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: 'listServicesResponse'; value: { service: { name: string }[] } }
  | { case: 'errorResponse'; value: { errorCode: number; errorMessage: string } };

const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

interface Index {
  services: string[];
  /** File name -> serialized FileDescriptorProtos of the file followed by its transitive imports. */
  closures: Map<string, Uint8Array[]>;
  /** Fully-qualified symbol (no leading dot) -> name of the file that declares it. */
  symbols: Map<string, string>;
  /** Fully-qualified names of all known messages. */
  messages: Set<string>;
}

/** The files and every file they import, each once, by name. */
export function withDependencies(roots: DescFile[]): Map<string, DescFile> {
  const files = new Map<string, DescFile>();
  const visit = (f: DescFile): void => {
    if (files.has(f.proto.name)) return;
    files.set(f.proto.name, f);
    f.dependencies.forEach(visit);
  };
  roots.forEach(visit);
  return files;
}

function buildIndex(roots: DescFile[]): Index {
  const files = withDependencies(roots);

  const bytes = new Map<string, Uint8Array>();
  for (const [name, f] of files) bytes.set(name, toBinary(FileDescriptorProtoSchema, f.proto));

  const closures = new Map<string, Uint8Array[]>();
  for (const name of files.keys()) {
    const seen = new Set<string>([name]);
    const order: string[] = [name];
    for (let i = 0; i < order.length; i++) {
      for (const dep of files.get(order[i]!)!.dependencies) {
        const depName = dep.proto.name;
        if (!seen.has(depName)) (seen.add(depName), order.push(depName));
      }
    }
    closures.set(
      name,
      order.map((n) => bytes.get(n)!),
    );
  }

  const symbols = new Map<string, string>();
  const messages = new Set<string>();
  const services: string[] = [];
  for (const [name, f] of files) {
    const add = (symbol: string) => symbols.set(symbol, name);
    for (const t of nestedTypes(f)) {
      add(t.typeName);
      switch (t.kind) {
        case 'service':
          if (roots.includes(f)) services.push(t.typeName);
          t.methods.forEach((m) => add(`${t.typeName}.${m.name}`));
          break;
        case 'message':
          messages.add(t.typeName);
          t.fields.forEach((field) => add(`${t.typeName}.${field.name}`));
          t.oneofs.forEach((o) => add(`${t.typeName}.${o.name}`));
          break;
        case 'enum': {
          // Enum values live in the enum's parent scope (C++ scoping rules).
          const scope = t.typeName.slice(0, t.typeName.lastIndexOf('.') + 1);
          t.values.forEach((v) => add(scope + v.name));
          break;
        }
      }
    }
  }
  return { services: [...new Set(services)].sort(), closures, symbols, messages };
}

function notFound(what: string): Answer {
  return { case: 'errorResponse', value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } };
}

function answer(index: Index, req: Request): Answer {
  const m = req.messageRequest;
  const fileResponse = (fileName: string | undefined, what: string): Answer => {
    const closure = fileName === undefined ? undefined : index.closures.get(fileName);
    return closure ? { case: 'fileDescriptorResponse', value: { fileDescriptorProto: closure } } : notFound(what);
  };
  switch (m.case) {
    case 'listServices':
      return { case: 'listServicesResponse', value: { service: index.services.map((name) => ({ name })) } };
    case 'fileByFilename':
      return fileResponse(m.value, `file ${JSON.stringify(m.value)}`);
    case 'fileContainingSymbol': {
      const symbol = m.value.replace(/^\./, '');
      return fileResponse(index.symbols.get(symbol), `symbol ${JSON.stringify(symbol)}`);
    }
    case 'fileContainingExtension':
      return notFound(`extension ${m.value.extensionNumber} of ${JSON.stringify(m.value.containingType)}`);
    case 'allExtensionNumbersOfType': {
      const type = m.value.replace(/^\./, '');
      return index.messages.has(type)
        ? { case: 'allExtensionNumbersResponse', value: { baseTypeName: type, extensionNumber: [] } }
        : notFound(`type ${JSON.stringify(type)}`);
    }
    default:
      return { case: 'errorResponse', value: { errorCode: INVALID_ARGUMENT, errorMessage: 'empty message_request' } };
  }
}

/**
 * Registers grpc.reflection.v1 and v1alpha ServerReflection on the router, describing `files`,
 * their imports, grpc.health.v1 and the reflection services themselves.
 */
export function registerReflection(router: ConnectRouter, files: DescFile[]): ConnectRouter {
  const index = buildIndex(reflectionRoots(files));
  return router
    .service(v1.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          const messageResponse = answer(index, req);
          yield create(v1.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse });
        }
      },
    })
    .service(v1alpha.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          const messageResponse = answer(index, req);
          yield create(v1alpha.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse });
        }
      },
    });
}

/** The files whose services reflection lists, on every listener: `files`, grpc.health.v1 and the reflection services. */
export function reflectionRoots(files: DescFile[]): DescFile[] {
  return [...files, file_health_v1_health, v1.file_grpc_reflection_v1_reflection, v1alpha.file_grpc_reflection_v1alpha_reflection];
}
