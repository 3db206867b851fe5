// Proves that WebSocketDuplex carries bytes both ways across frame boundaries, coalesces queued
// writes, flushes data before closing, and maps close frames to stream end.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { WebSocketDuplex } from './index.js';

async function pair(): Promise<{ client: WebSocket; stream: WebSocketDuplex; close(): Promise<void> }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/`);
  const [ws] = (await once(wss, 'connection')) as [WebSocket];
  await once(client, 'open');
  return {
    client,
    stream: new WebSocketDuplex(ws),
    close: async () => {
      client.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

describe('WebSocketDuplex', () => {
  it('pushes each binary message as bytes, whatever the packet boundaries', async () => {
    const { client, stream, close } = await pair();
    try {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      client.send(Buffer.from([0x30, 0x05, 0x00]));
      client.send(Buffer.from([0x01, 0x61, 0x68, 0x69, 0xc0, 0x00]));
      while (Buffer.concat(chunks).length < 9) await once(stream, 'data');
      assert.deepEqual(Buffer.concat(chunks), Buffer.from([0x30, 0x05, 0x00, 0x01, 0x61, 0x68, 0x69, 0xc0, 0x00]));
    } finally {
      await close();
    }
  });

  it('sends writes as binary frames, coalescing those queued while the socket flushes', async () => {
    const { client, stream, close } = await pair();
    try {
      const frames: Buffer[] = [];
      client.on('message', (data: Buffer, isBinary: boolean) => {
        assert.equal(isBinary, true);
        frames.push(data);
      });
      for (let i = 0; i < 100; i++) stream.write(Buffer.from([i]));
      while (Buffer.concat(frames).length < 100) await once(client, 'message');
      assert.deepEqual([...Buffer.concat(frames)], Array.from({ length: 100 }, (_, i) => i));
      assert.ok(frames.length < 100, `expected coalesced frames, got ${frames.length}`);
    } finally {
      await close();
    }
  });

  it('end() flushes what was written, then closes with 1000; the peer close ends the stream', async () => {
    const { client, stream, close } = await pair();
    try {
      const received: Buffer[] = [];
      client.on('message', (data: Buffer) => received.push(data));
      const closed = once(client, 'close');
      stream.resume();
      stream.end(Buffer.from([0xe0, 0x00]));
      const streamClosed = once(stream, 'close');
      const [code] = (await closed) as [number];
      assert.equal(code, 1000);
      assert.deepEqual(Buffer.concat(received), Buffer.from([0xe0, 0x00]));
      await streamClosed;
    } finally {
      await close();
    }
  });

  it('destroy() without an error still delivers data written before it', async () => {
    const { client, stream, close } = await pair();
    try {
      const received: Buffer[] = [];
      client.on('message', (data: Buffer) => received.push(data));
      const closed = once(client, 'close');
      stream.write(Buffer.from([0x20, 0x02, 0x00, 0x87]));
      await new Promise((resolve) => setImmediate(resolve));
      stream.destroy();
      await closed;
      assert.deepEqual(Buffer.concat(received), Buffer.from([0x20, 0x02, 0x00, 0x87]));
    } finally {
      await close();
    }
  });

  it('a client close frame ends the readable side', async () => {
    const { client, stream, close } = await pair();
    try {
      stream.resume();
      const ended = once(stream, 'end');
      const closed = once(stream, 'close');
      client.close(1000);
      await ended;
      await closed;
    } finally {
      await close();
    }
  });

  it('a text frame is a protocol violation: the connection closes', async () => {
    const { client, stream, close } = await pair();
    try {
      stream.on('error', () => {});
      const closed = once(client, 'close');
      client.send('hello');
      const [code] = (await closed) as [number];
      assert.equal(code, 1003);
    } finally {
      await close();
    }
  });
});
