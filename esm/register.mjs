// ES module entry of mptcp/register (`node --import mptcp/register app.js`):
// installs the CommonJS build's switch, the same instance require() loads.
import { createRequire } from 'node:module';

createRequire(import.meta.url)('../dist/register.js');
