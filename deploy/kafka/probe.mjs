// Answers whether a Kafka broker listens at host:port by sending an ApiVersions
// request (API key 18, version 0) and checking the correlation id of the reply.
// Exit 0: a Kafka broker answered. Exit 3: nothing listens. Exit 4: something
// listens but does not speak Kafka. Uses no dependencies so it runs before npm install.
import net from 'node:net';

const [host = '127.0.0.1', portText = '9092', timeoutText = '3000'] = process.argv.slice(2);
const port = Number(portText);
const correlationId = 0x5e4d;
const clientId = Buffer.from('sending-metrics-probe');
const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
body.writeInt16BE(18, 0);
body.writeInt16BE(0, 2);
body.writeInt32BE(correlationId, 4);
body.writeInt16BE(clientId.length, 8);
clientId.copy(body, 10);
const size = Buffer.alloc(4);
size.writeInt32BE(body.length, 0);

let received = Buffer.alloc(0);
const socket = net.connect({ host, port });
const finish = (code, message) => {
  if (message) process.stderr.write(`${message}\n`);
  socket.destroy();
  process.exit(code);
};
socket.setTimeout(Number(timeoutText), () => finish(4, `${host}:${port} accepted a connection but gave no Kafka answer`));
socket.on('connect', () => socket.write(Buffer.concat([size, body])));
socket.on('data', (chunk) => {
  received = Buffer.concat([received, chunk]);
  if (received.length < 8) return;
  const replyId = received.readInt32BE(4);
  if (replyId === correlationId) finish(0);
  finish(4, `${host}:${port} answered, but not as a Kafka broker`);
});
socket.on('end', () => finish(4, `${host}:${port} closed the connection without a Kafka answer`));
socket.on('error', (error) => {
  if (error.code === 'ECONNREFUSED') finish(3, `nothing listens on ${host}:${port}`);
  finish(4, `${host}:${port}: ${error.message}`);
});
