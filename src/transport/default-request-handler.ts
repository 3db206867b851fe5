import type { RequestHandler, ServerResponse } from './types.js';

/** Until api/ plugs in the AWS routes: a health check, and 404 in AWS's error shape for the rest. */
export const defaultRequestHandler: RequestHandler = (request, response) => {
  const path = (request.url ?? '/').split('?')[0];
  if ((request.method === 'GET' || request.method === 'HEAD') && path === '/health') {
    sendJson(response, 200, { status: 'ok' });
    return;
  }
  sendJson(response, 404, { message: 'Not Found' });
};

export function sendJson(response: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(response.req.method === 'HEAD' ? undefined : text);
}
