/**
 * A broker in its own process, for crash tests: `node broker-process.js <sqlite path> [profile]`.
 * Starts the broker with a SQLite store on 127.0.0.1, port 0, prints `READY <port>` on stdout, and
 * closes gracefully on SIGTERM (a SIGKILL is the crash being tested).
 */
import { startBroker } from './broker.js';

const [path, profileArg] = process.argv.slice(2);
if (!path) {
  process.stderr.write('usage: broker-process.js <sqlite path> [aws|mqtt]\n');
  process.exit(2);
}
const profile = profileArg === 'aws' ? 'aws' : 'mqtt';
const b = await startBroker(profile, { sqlitePath: path });
process.stdout.write(`READY ${b.port}\n`);
process.on('SIGTERM', () => {
  void b.close().then(() => process.exit(0));
});
