import { ServerInterceptingCall } from '@grpc/grpc-js';
import type { ServerInterceptingCallInterface, ServerInterceptor } from '@grpc/grpc-js';

type PartialStatusObject = Parameters<ServerInterceptingCallInterface['sendStatus']>[0];

/**
 * A server interceptor that lets a server-streaming call have up to `maxInFlight` messages
 * written to its HTTP/2 stream at once. grpc-js hands a stream's messages to HTTP/2 one at a
 * time, the next only once the previous one's write completed, which takes a turn of the event
 * loop: a tail sent one message per turn. Under load (a turn of 2–5 ms while appends are
 * served) the 16–48 events of one group commit reached their subscriber 100–200 ms late, and a
 * catch-up spent a turn per event. Here the write is reported done to grpc-js at once while
 * fewer than `maxInFlight` are unfinished, so HTTP/2 gets a turn's messages together (Node
 * writes them in one go); past that the report waits for a write to complete, so a client
 * that reads slowly still holds the stream (and the tail) back with at most `maxInFlight`
 * messages more on the server. The status goes after the last message's write completed.
 * Unary calls are left as they are.
 */
export function pipelinedWrites(maxInFlight: number): ServerInterceptor {
  // A unary call gets grpc-js's own call back: no layer, no cost per call.
  return (method, call) =>
    method.responseStream ? new ServerInterceptingCall(pipelined(call, maxInFlight)) : (call as ServerInterceptingCall);
}

function pipelined(call: ServerInterceptingCallInterface, maxInFlight: number): ServerInterceptingCallInterface {
  let inFlight = 0;
  let held: (() => void) | undefined;
  let status: PartialStatusObject | undefined;
  const written = () => {
    inFlight--;
    if (held && inFlight < maxInFlight) {
      const release = held;
      held = undefined;
      release();
    }
    if (inFlight === 0 && status) call.sendStatus(status);
  };
  return {
    start: (listener) => call.start(listener),
    sendMetadata: (metadata) => call.sendMetadata(metadata),
    sendMessage(message, callback) {
      inFlight++;
      call.sendMessage(message, written);
      // grpc-js gives the next message only after this callback: one at most is held here.
      if (inFlight < maxInFlight) callback();
      else held = callback;
    },
    sendStatus(s) {
      if (inFlight === 0) call.sendStatus(s);
      else status = s;
    },
    startRead: () => call.startRead(),
    getPeer: () => call.getPeer(),
    getDeadline: () => call.getDeadline(),
    getHost: () => call.getHost(),
    getAuthContext: () => call.getAuthContext(),
    getConnectionInfo: () => call.getConnectionInfo(),
    getMetricsRecorder: () => call.getMetricsRecorder(),
  };
}
