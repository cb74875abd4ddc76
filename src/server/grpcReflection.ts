import { toBinary } from '@bufbuild/protobuf';
import type { DescFile } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { reflectionRoots, withDependencies } from './reflection.js';

/**
 * Serves grpc.reflection v1 and v1alpha on a grpc-js server with `@grpc/reflection`, describing
 * the same files as PORT's reflection: `files`, health, reflection, and every file they import,
 * from the descriptors protobuf-es generated (no .proto files are read at run time).
 */
export function addGrpcReflection(server: Pick<Server, 'addService'>, files: DescFile[]): void {
  const roots = reflectionRoots(files);
  const all = withDependencies(roots);
  const fileDescriptorProtos = [...all.values()].map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)));
  // @grpc/reflection reads only the fileDescriptorProtos of a proto-loader package definition
  // (it decodes and indexes them itself): one entry carrying every file stands for the package.
  const definition = { 'auren.v1': { format: 'Protocol Buffer 3 FileDescriptorProto', type: {}, fileDescriptorProtos } };
  new ReflectionService(definition as unknown as ConstructorParameters<typeof ReflectionService>[0], {
    services: roots.flatMap((file) => file.services.map((service) => service.typeName)),
  }).addToServer(server);
}
