// Two server processes behind round_robin, from Node.js with @grpc/grpc-js (issue 13).
// Usage: node replicas_scenario.js PROTO_DIR PORT_A PORT_B METRICS_A METRICS_B
'use strict';

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const http = require('http');

const [protoDir, portA, portB, metricsA, metricsB] = process.argv.slice(2);
const method = '/plantmon.v1.UserService/GetCurrentUser';

function fail(message) {
  console.error('FAIL: ' + message);
  process.exit(1);
}

function scrape(port) {
  return new Promise((resolve, reject) => {
    http.get({host: '127.0.0.1', port: Number(port), path: '/metrics'}, (reply) => {
      let text = '';
      reply.on('data', (chunk) => (text += chunk));
      reply.on('end', () => {
        const line = text.split('\n').find((l) =>
          l.startsWith(`plantmon_rpc_calls_total{method="${method}",code="OK"} `));
        resolve(line ? Number(line.split(' ')[1]) : 0);
      });
    }).on('error', reject);
  });
}

function unary(client, name, request, metadata) {
  return new Promise((resolve, reject) => {
    client[name](request, metadata || new grpc.Metadata(), {deadline: Date.now() + 10000},
                 (error, reply) => (error ? reject(error) : resolve(reply)));
  });
}

async function main() {
  const definition = protoLoader.loadSync('plantmon/v1/user.proto', {
    includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  const v1 = grpc.loadPackageDefinition(definition).plantmon.v1;
  // One target naming both servers; round_robin spreads calls over them.
  const users = new v1.UserService(`ipv4:127.0.0.1:${portA},127.0.0.1:${portB}`,
                                   grpc.credentials.createInsecure(),
                                   {'grpc.service_config': JSON.stringify(
                                     {loadBalancingConfig: [{round_robin: {}}]})});
  await unary(users, 'CreateUser', {
    user: {email: 'node@example.com', username: 'nodejs'}, password: 'event-loop-all-the-way',
  });
  const login = await unary(users, 'Login', {login: 'nodejs', password: 'event-loop-all-the-way'});
  const metadata = new grpc.Metadata();
  metadata.set('authorization', 'Bearer ' + login.access_token);
  const before = [await scrape(metricsA), await scrape(metricsB)];
  for (let i = 0; i < 20; i++) {
    const me = await unary(users, 'GetCurrentUser', {}, metadata);
    if (me.username !== 'nodejs') fail('GetCurrentUser answered ' + JSON.stringify(me));
  }
  const onA = (await scrape(metricsA)) - before[0];
  const onB = (await scrape(metricsB)) - before[1];
  console.log(`Node.js: 20 calls through round_robin: ${onA} on server A, ${onB} on server B`);
  if (onA + onB !== 20 || onA < 5 || onB < 5) fail('round_robin did not spread the calls');
  users.close();
}

main().catch((error) => fail(error.stack || String(error)));
