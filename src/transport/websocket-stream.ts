import { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';

/**
 * A WebSocket as a byte stream, for MQTT over WebSocket. Every binary message is pushed as it
 * arrives; a message may carry part of an MQTT packet or several of them, the codec reassembles
 * ([MQTT-6.0.0-2..4]). Writes that queue up while the socket flushes go out as one frame (`_writev`).
 *
 * Not ws's createWebSocketStream: that sends each write as its own frame and terminates the socket
 * on destroy(), dropping a DISCONNECT written just before. Here destroy() without an error sends a
 * close frame after everything already written; destroy(err) terminates.
 *
 *   peer close frame / socket loss ──► push(null): 'end' ──► (allowHalfOpen false) writable ends ──► 'close'
 *   end() from us ──► _final: close frame 1000 ──► peer's close frame ──► 'end' ──► 'close'
 */
export class WebSocketDuplex extends Duplex {
  readonly #ws: WebSocket;
  /**
   * True once the peer closed the WebSocket with a close frame (any code but 1006, "abnormal
   * closure", which ws reports when the connection dropped without one). The broker reads it:
   * AWS IoT counts a close frame as a client-initiated disconnect (spec/mqtt.md section 8).
   */
  closedCleanlyByPeer = false;

  constructor(ws: WebSocket) {
    super({ allowHalfOpen: false });
    this.#ws = ws;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        // [MQTT-6.0.0-1] a text frame is a protocol violation: close the connection.
        ws.close(1003, 'MQTT needs binary frames');
        this.destroy(new Error('WebSocket text frame received'));
        return;
      }
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (!this.push(chunk)) ws.pause();
    });
    ws.once('close', (code: number) => {
      this.closedCleanlyByPeer = code !== 1006;
      this.push(null);
    });
    ws.on('error', (err: Error) => {
      this.destroy(err);
    });
  }

  /** The WebSocket underneath (for its protocol or close code). */
  get webSocket(): WebSocket {
    return this.#ws;
  }

  override _read(): void {
    if (this.#ws.isPaused) this.#ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send(chunk, callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    const first = chunks[0];
    const data = chunks.length === 1 && first !== undefined ? first.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.#send(data, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const ws = this.#ws;
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      if (error === null) ws.close(1000);
      else ws.terminate();
    }
    callback(error);
  }

  #send(data: Buffer, callback: (error?: Error | null) => void): void {
    if (this.#ws.readyState !== this.#ws.OPEN) {
      callback(new Error('WebSocket is not open'));
      return;
    }
    // ws calls back once the frame is handed to the socket: that is our backpressure.
    this.#ws.send(data, { binary: true }, (err?: Error) => callback(err ?? null));
  }
}
