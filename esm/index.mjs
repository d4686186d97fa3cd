// ES module entry point: the same single instance as the CommonJS build
// (dist/index.js), so `import` and `require` users share one loaded addon.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mptcp = require('../dist/index.js');

export const {
  connect,
  createConnection,
  createServer,
  listen,
  Server,
  isMptcp,
  getInfo,
  getSubflows,
  getSnapshot,
  support,
  pm,
  monitor,
  Monitor,
  connections,
  getSubflowFlags,
  NetlinkError,
  NetlinkParseError,
  http,
  https,
  connector,
  metrics,
  dashboard,
} = mptcp;
export default mptcp;
