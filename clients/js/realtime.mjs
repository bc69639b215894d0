// ES module entry: import Realtime from './realtime.mjs' (realtime.js sets globalThis.Realtime).
import './realtime.js';
const Realtime = globalThis.Realtime;
export const RealtimeError = Realtime.RealtimeError;
export { Realtime };
export default Realtime;
