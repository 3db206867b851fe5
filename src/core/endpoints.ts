import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';

export const endpointsFile = 'endpoints.json';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Where clients reach this server; written to `<data-dir>/endpoints.json`. */
export interface Endpoints {
  /** MQTT over mutual TLS. */
  readonly mqtts: HostPort;
  /** AWS-shaped HTTPS API. */
  readonly https: HostPort;
  /** Plain MQTT, when enabled. */
  readonly mqtt?: HostPort;
  /** Plain HTTP API, when enabled. */
  readonly http?: HostPort;
  /** MQTT over WebSocket on the HTTPS port: `wss://host:port/mqtt`. */
  readonly ws: string;
}

/** Host text for a URL (IPv6 in brackets). */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Written whole (temp file + rename), so a reader polling for it never sees half a file. */
export async function writeEndpoints(dataDir: string, endpoints: Endpoints): Promise<void> {
  const path = join(dataDir, endpointsFile);
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(endpoints, null, 2) + '\n', { mode: 0o644 });
  await rename(tmp, path);
}

/** A stale file from an earlier run would point clients at ports nobody listens on. */
export async function removeEndpoints(dataDir: string): Promise<void> {
  await rm(join(dataDir, endpointsFile), { force: true });
}
