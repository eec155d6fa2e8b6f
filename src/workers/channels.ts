import type { Worker } from 'node:cluster';
import type { Channel } from '../store/primary/protocol.js';
import { isWireMessage, type WireMessage } from './protocol.js';

/** A channel of this protocol: the process's messages and the store's. */
export interface WireChannel extends Channel {
  send(message: WireMessage, written?: () => void): void;
  onMessage(handler: (message: WireMessage) => void): () => void;
}

/** A channel that counts its messages (the IPC cost the bench reports per request). */
export interface CountedChannel extends WireChannel {
  readonly sent: number;
  readonly received: number;
}

/**
 * A worker's channel to its primary: `process.send` and `process.on('message')`. One process
 * listener counts each message once and hands it to every subscriber.
 */
export function primaryChannel(): CountedChannel {
  let sent = 0;
  let received = 0;
  const handlers = new Set<(message: WireMessage) => void>();
  process.on('message', (message: unknown) => {
    if (!isWireMessage(message)) return;
    received++;
    // The handlers of now, as EventEmitter does: one subscribed while handling sees the next message.
    for (const handler of [...handlers]) handler(message);
  });
  return {
    get sent() {
      return sent;
    },
    get received() {
      return received;
    },
    send(message, written) {
      // The primary is gone: nothing to tell it (the worker is about to exit).
      if (!process.connected) return;
      sent++;
      // A callback always: without one, a channel closing mid-send is an 'error' event that kills the process.
      process.send!(message, undefined, undefined, (error) => void (error ? undefined : written?.()));
    },
    onMessage(handler) {
      // A wrapper per subscription, so one handler subscribed twice is called twice, as with `process.on`.
      const subscription = (message: WireMessage): void => handler(message);
      handlers.add(subscription);
      return () => void handlers.delete(subscription);
    },
  };
}

/** The primary's channel to one worker. */
export function workerChannel(worker: Worker): WireChannel {
  return {
    send(message, written) {
      // A callback always: a worker that exits while a message is on its way (it could not
      // listen, it was killed) would otherwise be an unhandled 'error' (EPIPE) in the primary.
      if (worker.isConnected()) worker.send(message as object, undefined, (error) => void (error ? undefined : written?.()));
    },
    onMessage(handler) {
      const listener = (message: unknown): void => {
        if (isWireMessage(message)) handler(message);
      };
      worker.on('message', listener);
      return () => void worker.off('message', listener);
    },
  };
}

/**
 * Two connected channels in one process, delivering in order on a later turn through a JSON
 * round trip, as IPC does: the worker side of the store can be tested against a real node
 * store without forking.
 */
export function channelPair(): [WireChannel, WireChannel] {
  const handlers: [Set<(message: WireMessage) => void>, Set<(message: WireMessage) => void>] = [new Set(), new Set()];
  const end = (mine: 0 | 1): WireChannel => ({
    send(message, written) {
      const copy = JSON.parse(JSON.stringify(message)) as WireMessage;
      setImmediate(() => {
        for (const handler of handlers[1 - mine]!) handler(copy);
        written?.();
      });
    },
    onMessage(handler) {
      handlers[mine].add(handler);
      return () => void handlers[mine].delete(handler);
    },
  });
  return [end(0), end(1)];
}
