/**
 * DescribeEndpoint (`GET /endpoint?endpointType=iot:Data-ATS`, spec/http-api.md 3.7): the address
 * devices should connect to, i.e. the configured public host and port of the MQTT-over-TLS listener.
 * AWS answers a host name only because its port is the well-known 8883/443; ours usually is not, so
 * the port is included unless it is 443 (clients paste the address after `https://` or into their
 * MQTT settings). Every endpoint type gets the same address: one server serves them all.
 */
import { defineRoutes } from '../routing.js';
import type { RouteModule } from '../routing.js';

export interface EndpointAddress {
  /** Public host name or IP clients use. */
  readonly host: string;
  readonly port: number;
}

/** A fixed address, or a function read on each call (ports chosen at listen time). */
export type EndpointSource = EndpointAddress | (() => EndpointAddress);

/** spec 3.7 (the model's documented values). */
export const endpointTypes = ['iot:Data', 'iot:Data-ATS', 'iot:CredentialProvider', 'iot:Jobs'] as const;

export function formatEndpointAddress(address: EndpointAddress): string {
  const host = address.host.includes(':') && !address.host.startsWith('[') ? `[${address.host}]` : address.host;
  return address.port === 443 ? host : `${host}:${address.port}`;
}

export function endpointRoutes(source: EndpointSource): RouteModule {
  return defineRoutes('endpoint', (r) => {
    r.get(
      '/endpoint',
      (req) => {
        req.query.enumValue('endpointType', endpointTypes);
        const address = typeof source === 'function' ? source() : source;
        return { endpointAddress: formatEndpointAddress(address) };
      },
      { operation: 'DescribeEndpoint' },
    );
  });
}
