import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

// Plain @grpc/grpc-js clients of health and reflection, built from the .proto files the npm
// packages ship, as a client in another language would be: they know nothing of our code.

const root = process.cwd();
const loadOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
/** A client class made by grpc.loadPackageDefinition. */
export type Ctor = new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;
/** Clients and messages built by proto-loader at run time are untyped. */
export type Json = Record<string, any>;

function load(file: string, includeDir: string, service: string): Ctor {
  const def = protoLoader.loadSync(path.join(root, file), { ...loadOptions, includeDirs: [path.join(root, includeDir)] });
  return service.split('.').reduce<Json>((o, k) => o[k], grpc.loadPackageDefinition(def)) as Ctor;
}

/** grpc.health.v1.Health. */
export const HealthClient = load(
  'node_modules/grpc-health-check/proto/health/v1/health.proto',
  'node_modules/grpc-health-check/proto',
  'grpc.health.v1.Health',
);
const reflectionDir = 'node_modules/@grpc/reflection/build/proto';
/** grpc.reflection.v1.ServerReflection. */
export const ReflectionV1 = load(
  `${reflectionDir}/grpc/reflection/v1/reflection.proto`,
  reflectionDir,
  'grpc.reflection.v1.ServerReflection',
);
/** grpc.reflection.v1alpha.ServerReflection. */
export const ReflectionV1alpha = load(
  `${reflectionDir}/grpc/reflection/v1alpha/reflection.proto`,
  reflectionDir,
  'grpc.reflection.v1alpha.ServerReflection',
);

/** Client options of a plain grpc-js client that sends `authorization` (e.g. 'Bearer <key>') on every call. */
export function sending(authorization: string): grpc.ClientOptions {
  const interceptor: grpc.Interceptor = (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', authorization);
        next(metadata, listener);
      },
    });
  return { interceptors: [interceptor] };
}

/** Sends all requests on one bidi stream and collects one response per request. */
export function reflect(client: Json, requests: Json[]): Promise<Json[]> {
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo() as grpc.ClientDuplexStream<Json, Json>;
    const responses: Json[] = [];
    call.on('data', (r: Json) => {
      responses.push(r);
      if (responses.length === requests.length) call.end();
    });
    call.on('error', reject);
    call.on('end', () => resolve(responses));
    for (const r of requests) call.write(r);
  });
}

/** The names of the files in a reflection answer, the requested one first. */
export function fileNames(response: Json): string[] {
  assert.equal(response.message_response, 'file_descriptor_response', JSON.stringify(response.error_response));
  return (response.file_descriptor_response.file_descriptor_proto as Buffer[]).map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

/** Waits up to 2 s for `check`. */
export async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

/** Runs `buf curl` over gRPC (h2c) with server reflection, as a user without the .proto files would. */
export async function bufCurl(args: string[]): Promise<string> {
  const buf = path.join(root, 'node_modules/.bin/buf');
  const { stdout } = await promisify(execFile)(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--reflect', ...args]);
  return stdout;
}
