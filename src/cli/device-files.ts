/**
 * What `thingcore device create` hands the user: the per-device policy document and the texts of
 * the ready-to-run connection snippet (connect.mjs, mqtt.js over mutual TLS) and README.txt (the
 * equivalent mosquitto_sub / mosquitto_pub command lines).
 */
import { createHash } from 'node:crypto';
import { urlHost } from './connection.js';

export interface DeviceSnippetInput {
  readonly thingName: string;
  readonly certificateId: string;
  /** MQTT over mutual TLS. */
  readonly host: string;
  readonly port: number;
  /** The per-device policy, or why there is none. */
  readonly policy: { readonly name: string } | { readonly missing: string };
}

/** The topic the snippets publish and subscribe to; the per-device policy allows `<thing>/*`. */
export function helloTopic(thingName: string): string {
  return `${thingName}/hello`;
}

const maxPolicyNameLength = 128;

/**
 * `<thing>-policy`. Policy names allow `[\w+=,.@-]` (thing names may also hold `:`, which becomes
 * `.`) and at most 128 characters: a longer name is cut and keeps a hash of the whole thing name.
 */
export function devicePolicyName(thingName: string): string {
  const base = thingName.replaceAll(':', '.');
  const suffix = '-policy';
  if (base.length + suffix.length <= maxPolicyNameLength) return base + suffix;
  const digest = createHash('sha256').update(thingName).digest('hex').slice(0, 8);
  return `${base.slice(0, maxPolicyNameLength - suffix.length - digest.length - 1)}-${digest}${suffix}`;
}

/**
 * What a device may do: connect as its thing name (or `<thing>-<anything>`, for a second client
 * using the same certificate), publish, subscribe and receive under `<thing>/` and on its own
 * reserved topics (`$aws/things/<thing>/`: shadows, jobs).
 */
export function devicePolicyDocument(thingArn: string, thingName: string): string {
  const marker = ':thing/';
  const at = thingArn.indexOf(marker);
  if (at < 0) throw new Error(`not a thing ARN: ${thingArn}`);
  const prefix = thingArn.slice(0, at); // arn:aws:iot:<region>:<account>
  const document = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'iot:Connect', Resource: [`${prefix}:client/${thingName}`, `${prefix}:client/${thingName}-*`] },
      {
        Effect: 'Allow',
        Action: ['iot:Publish', 'iot:Receive'],
        Resource: [`${prefix}:topic/${thingName}/*`, `${prefix}:topic/$aws/things/${thingName}/*`],
      },
      {
        Effect: 'Allow',
        Action: 'iot:Subscribe',
        Resource: [`${prefix}:topicfilter/${thingName}/*`, `${prefix}:topicfilter/$aws/things/${thingName}/*`],
      },
    ],
  };
  return JSON.stringify(document);
}

/** connect.mjs: connects as the thing, subscribes to its hello topic, publishes there once, prints what comes back, exits. */
export function connectSnippet(input: DeviceSnippetInput): string {
  const { thingName } = input;
  const url = `mqtts://${urlHost(input.host)}:${input.port}`;
  const topic = helloTopic(thingName);
  const message = JSON.stringify({ message: `hello from ${thingName}` });
  return `// Connects the device ${thingName} to Thingcore over MQTT with mutual TLS (cert.pem + key.pem, trusting ca.pem),
// subscribes to ${topic}, publishes one message there, prints it when it comes back, and exits.
// Run it in this directory:  npm install mqtt  &&  node connect.mjs
import { readFileSync } from 'node:fs';
import { connect } from 'mqtt';

const file = (name) => readFileSync(new URL(name, import.meta.url));
const topic = ${JSON.stringify(topic)};

const client = connect(${JSON.stringify(url)}, {
  clientId: ${JSON.stringify(thingName)},
  ca: file('ca.pem'),
  cert: file('cert.pem'),
  key: file('key.pem'),
  reconnectPeriod: 0,
  connectTimeout: 10_000,
});

function fail(err) {
  console.error(\`connect.mjs: \${err.message}\`);
  process.exitCode = 1;
  client.end(true);
}
const timer = setTimeout(() => fail(new Error('no message came back within 10 s')), 10_000);

client.on('error', fail);
client.on('connect', async () => {
  try {
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, ${JSON.stringify(message)}, { qos: 1 });
  } catch (err) {
    fail(err);
  }
});
client.on('message', (receivedTopic, payload) => {
  console.log(\`received on \${receivedTopic}: \${payload}\`);
  clearTimeout(timer);
  client.end();
});
`;
}

/** The mosquitto_sub and mosquitto_pub command lines (run in the device directory). */
export function mosquittoCommands(input: DeviceSnippetInput): { readonly sub: string; readonly pub: string } {
  const tls = `-h ${input.host} -p ${input.port} --cafile ca.pem --cert cert.pem --key key.pem`;
  const topic = helloTopic(input.thingName);
  const message = JSON.stringify({ message: `hello from ${input.thingName}` });
  return {
    sub: `mosquitto_sub ${tls} -i ${input.thingName} -t '${topic}' -q 1 -v`,
    pub: `mosquitto_pub ${tls} -i ${input.thingName}-pub -t '${topic}' -q 1 -m '${message}'`,
  };
}

export function readme(input: DeviceSnippetInput): string {
  const { sub, pub } = mosquittoCommands(input);
  const policy =
    'name' in input.policy
      ? `${input.policy.name}: the device may connect as ${input.thingName} (or ${input.thingName}-<anything>),
  publish, subscribe and receive under ${input.thingName}/ and $aws/things/${input.thingName}/.`
      : `none: ${input.policy.missing}`;
  return `Device ${input.thingName}, made by \`thingcore device create\`.

Files
  cert.pem     the device certificate (id ${input.certificateId})
  key.pem      its private key: keep it secret; Thingcore keeps no copy of it
  ca.pem       the Thingcore CA certificate: the device trusts the server through it
  connect.mjs  a ready-to-run Node.js client

Endpoint
  MQTT over TLS  ${input.host} port ${input.port}, with the client certificate above
  Client id      ${input.thingName}

Policy
  ${policy}

Try it with Node.js (in this directory):
  npm install mqtt
  node connect.mjs

Try it with the Mosquitto clients (in this directory; the subscriber in its own terminal):
  ${sub}
  ${pub}
`;
}
