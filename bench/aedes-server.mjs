// Aedes on a plain net server, for the benchmark (bench/brokers.ts starts it as a child process).
// Default options; listens on 127.0.0.1, port from argv[2] (0 = any free port), prints
// "AEDES_PORT <port>" on stdout once listening. Exits on SIGTERM/SIGINT.
import net from 'node:net';
import { Aedes } from 'aedes';

const requested = Number(process.argv[2] ?? '0');
const aedes = await Aedes.createBroker();
const server = net.createServer(aedes.handle);

server.listen(requested, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : requested;
  process.stdout.write(`AEDES_PORT ${port}\n`);
});

const stop = () => {
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
