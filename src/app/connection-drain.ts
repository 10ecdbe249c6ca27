import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Lets a stopping HTTP listener finish its in-flight requests without waiting on connections that have none.
 *
 * Node's `server.close()` closes idle keep-alive connections once, but not a connection that was opened and
 * never sent a request (browsers and HTTP client pools open them ahead of use: Node counts them as waiting for
 * headers), and not a keep-alive connection whose last request ends after the close. Either held a drain until
 * `server.shutdown_timeout`. Once `beginDrain()` is called, connections without a request in flight are closed
 * at once and the others as soon as their last response has been written (after it is flushed, so no answer is
 * cut). A request that was still arriving on an idle connection is dropped before anything ran for it, as Node's
 * own idle sweep does: the client sees the connection close and may retry elsewhere.
 */
export class ConnectionDrain {
  /** Open connections and how many requests each has in flight (pipelined requests count separately). */
  private readonly inFlight = new Map<Socket, number>();
  private draining = false;

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      if (this.draining) {
        socket.destroy();
        return;
      }
      this.inFlight.set(socket, 0);
      socket.once('close', () => this.inFlight.delete(socket));
    });
    server.on('request', (req, res) => {
      const socket = req.socket;
      this.inFlight.set(socket, (this.inFlight.get(socket) ?? 0) + 1);
      res.once('close', () => {
        const left = (this.inFlight.get(socket) ?? 1) - 1;
        if (socket.destroyed) return;
        this.inFlight.set(socket, left);
        if (this.draining && left === 0) socket.end();
      });
    });
  }

  /** Closes every connection with no request in flight, and each other one when its last request has been answered. */
  beginDrain(): void {
    this.draining = true;
    for (const [socket, n] of this.inFlight) if (n === 0) socket.destroy();
  }
}
