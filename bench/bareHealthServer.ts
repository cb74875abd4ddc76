// The trivial call's floor on this machine: a bare @grpc/grpc-js server with grpc-health-check
// and nothing of AUREN's, started by the append bench beside the AUREN server so that both are
// measured in the same run. Prints `PORT <n>` once it listens.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';

// As AUREN's listener (src/server/grpcServer.ts): channelz off.
const server = new Server({ 'grpc.enable_channelz': 0 });
new HealthImplementation({ '': 'SERVING' }).addToServer(server);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`PORT ${port}\n`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
