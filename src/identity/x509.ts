// The one file that imports @peculiar/x509. Its DI container (tsyringe) needs the Reflect metadata
// polyfill loaded first, and we pin the WebCrypto provider to Node's own implementation.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
