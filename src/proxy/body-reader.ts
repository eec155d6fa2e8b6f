import type { IncomingMessage } from 'node:http';

/** The first bytes of a request body (see {@link readBodyPrefix}). */
export interface BodyPrefix {
  /** What was read: all of the body, or the first `max` bytes and a little more. */
  body: Buffer;
  /** True when the whole body was read (`req` ended). */
  complete: boolean;
}

/**
 * Reads a request body up to `max` bytes, for a plugin to inspect before it is forwarded: the
 * whole body when it is not longer; otherwise it stops (the stream paused) once it holds more
 * than `max`, and the rest stays in `req` for the forwarder to stream after what was read.
 * Resolves undefined when the request ends or fails before (the client left: the flow's own
 * listeners deal with it).
 */
export function readBodyPrefix(req: IncomingMessage, max: number): Promise<BodyPrefix | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const done = (result: BodyPrefix | undefined): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes > max) {
        req.pause();
        done({ body: Buffer.concat(chunks, bytes), complete: false });
      }
    };
    const onEnd = (): void => done({ body: Buffer.concat(chunks, bytes), complete: true });
    const onGone = (): void => {
      if (!req.readableEnded) done(undefined);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onGone);
    req.once('close', onGone);
  });
}
