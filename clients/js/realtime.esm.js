// ES module entry: import Realtime from './realtime.esm.js' (realtime.js sets globalThis.Realtime).
import './realtime.js';
const Realtime = globalThis.Realtime;
export const RealtimeError = Realtime.RealtimeError;
export { Realtime };
export default Realtime;
